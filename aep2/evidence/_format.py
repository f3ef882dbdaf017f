"""The evidence file: one JSON document, pinned field by field in ``docs/protocol.md``
("Dispute evidence").

Every number is a decimal string and every byte string lower-case ``0x`` hex, as in the mandate's
wire form; a part the payee does not have is ``null``. Reading is strict: an unknown field, a
missing one or a value of the wrong shape is refused with ``evidence_malformed`` naming it, and a
``version`` other than :data:`VERSION` with ``evidence_unsupported_version``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from aep2.errors import EvidenceError, Reason

FORMAT: Final = "aep2-evidence"
VERSION: Final = "1"
PARTS: Final = ("mandate", "call", "receipt", "settlement")
"""The parts of an evidence file, in the order they are checked; all but the mandate may be absent."""

Decimal = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]*)$")]
Hex = Annotated[str, StringConstraints(pattern=r"^0x([0-9a-f]{2})*$")]
Hex32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=True
    )


class AgentKeyRecord(_Model):
    """An agent mandate's key as the escrow records it: its id, compressed key and payer."""

    key_id: Decimal
    key: Hex32
    payer: str


class CallPart(_Model):
    """The call the mandate paid for: the descriptor whose canonical JSON hashes to ``ref``."""

    descriptor: dict[str, str]


class ReceiptPart(_Model):
    """The payee's signed receipt, exactly as its ``SettleResponse.extra`` carried it."""

    receipt: dict[str, str]
    signature: Hex


class BatchPairPart(_Model):
    payer: str
    payee: str
    from_nonce: Decimal
    to_nonce: Decimal
    total: Decimal


class AgentPairPart(_Model):
    key_id: Decimal
    payee: str
    from_nonce: Decimal
    to_nonce: Decimal
    total: Decimal


class TransactionPart(_Model):
    """The ``settleMany`` (or ``settle``) transaction that carried the proof."""

    hash: Hex32
    block_number: Decimal


class SettlementPart(_Model):
    """The settlement one proof opened, the proof, and where it landed on chain."""

    family: Literal["batch", "agent"]
    verifier_id: Decimal
    mandate_slots: Decimal
    pair_slots: Decimal
    token: str
    not_after: Decimal
    pairs: list[BatchPairPart] | list[AgentPairPart]
    keys: dict[Decimal, Hex32] | None
    public_input: Decimal
    proof: Hex
    verifying_key: dict[str, Any]
    transaction: TransactionPart


class Evidence(_Model):
    """One mandate's dispute evidence (``aep2 evidence export`` writes it, ``verify`` checks it)."""

    format: Literal["aep2-evidence"] = FORMAT
    version: Literal["1"] = VERSION
    mandate: dict[str, str]
    agent_key: AgentKeyRecord | None
    call: CallPart | None
    receipt: ReceiptPart | None
    settlement: SettlementPart | None

    @property
    def present(self) -> tuple[str, ...]:
        """Which of :data:`PARTS` this file holds."""
        return tuple(p for p in PARTS if p == "mandate" or getattr(self, p) is not None)

    @property
    def absent(self) -> tuple[str, ...]:
        return tuple(p for p in PARTS if p not in self.present)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"


def parse_evidence(obj: object) -> Evidence:
    """Validate a decoded JSON document as evidence; :class:`EvidenceError` names what is wrong."""
    if not isinstance(obj, dict):
        raise EvidenceError(f"evidence is a JSON {type(obj).__name__}, not an object")
    if obj.get("format") != FORMAT:
        raise EvidenceError(f"format {obj.get('format')!r} is not {FORMAT!r}", field="format")
    if obj.get("version") != VERSION:
        raise EvidenceError(
            f"evidence version {obj.get('version')!r} is not supported (this reads {VERSION!r})",
            reason=Reason.EVIDENCE_UNSUPPORTED_VERSION,
        )
    try:
        return Evidence.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise EvidenceError(f"{where}: {first['msg']}", field=where) from None


def loads_evidence(text: str) -> Evidence:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise EvidenceError(f"evidence is not JSON: {exc}") from None
    return parse_evidence(obj)


def read_evidence(path: Path) -> Evidence:
    """Read an evidence file (``OSError`` if it cannot be read)."""
    return loads_evidence(path.read_text())
