"""An agent credential: an agent key, the id the escrow gave it, and the terms of its grant.

The key file holds the secret (mode 0600, ``aep2.agentkey.AgentKey``); a JSON sidecar beside it
(``<key file>.grant.json``, written by ``aep2 agent-key authorize``) holds what is public: the
chain and escrow, the signed grant and the ``keyId`` it was registered as::

    {"version": "1", "chainId": "31337", "escrow": "0x…", "keyId": "7",
     "grant": {"payer": "0x…", "key": "0x…", "token": "0x…", "payee": "0x…", "cap": "1000000",
               "validAfter": "…", "validUntil": "…", "salt": "…"},
     "signature": "0x…"}

Before registration ``keyId`` (and, until signed, ``signature``) is absent: the grant is pending,
and no credential can be loaded from it. ``revokeAt`` appears once the payer revoked the key.
The escrow's record is the truth; the sidecar is what the payer needs to choose a mandate kind
without asking the chain on every call.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aep2.agentkey import AgentKey, AgentMandate
from aep2.agentkey._grant import AgentKeyGrant
from aep2.errors import Aep2Error, ConfigurationError
from aep2.mandate import Domain
from aep2.payer._request import PaymentRequest

SIDECAR_VERSION = "1"


class AgentSigner(Protocol):
    """What signs agent mandates: :class:`aep2.agentkey.AgentKey`, or anything with its two members."""

    @property
    def public_key(self) -> bytes: ...

    def sign(self, domain_separator: bytes, mandate: AgentMandate) -> bytes: ...


def sidecar_path(key_file: Path) -> Path:
    """Where the grant of the key in ``key_file`` is kept: ``<key file>.grant.json``."""
    return key_file.with_name(key_file.name + ".grant.json")


@dataclass(frozen=True)
class GrantRecord:
    """The sidecar's contents: a grant for one escrow, maybe signed, maybe registered."""

    domain: Domain
    grant: AgentKeyGrant
    key_id: int | None = None
    signature: bytes | None = None
    revoke_at: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": SIDECAR_VERSION,
            "chainId": str(self.domain.chain_id),
            "escrow": self.domain.escrow,
            "grant": self.grant.to_json(),
        }
        if self.key_id is not None:
            out["keyId"] = str(self.key_id)
        if self.signature is not None:
            out["signature"] = "0x" + self.signature.hex()
        if self.revoke_at:
            out["revokeAt"] = str(self.revoke_at)
        return out

    @classmethod
    def from_json(cls, obj: Any, *, where: str = "grant file") -> GrantRecord:
        if not isinstance(obj, dict) or obj.get("version") != SIDECAR_VERSION:
            raise ConfigurationError(f"{where} is not a version {SIDECAR_VERSION} agent grant file")
        try:
            signature = obj.get("signature")
            return cls(
                domain=Domain.parse(chain_id=int(obj["chainId"]), escrow=obj["escrow"]),
                grant=AgentKeyGrant.from_json(obj["grant"]),
                key_id=int(obj["keyId"]) if "keyId" in obj else None,
                signature=bytes.fromhex(signature.removeprefix("0x")) if signature else None,
                revoke_at=int(obj.get("revokeAt", 0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError, Aep2Error) as exc:
            detail = exc.message if isinstance(exc, Aep2Error) else f"{type(exc).__name__}: {exc}"
            raise ConfigurationError(f"{where} is unreadable: {detail}") from None

    @classmethod
    def read(cls, path: Path) -> GrantRecord:
        try:
            obj = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigurationError(
                f"no grant file {path}: run `aep2 agent-key authorize` first", path=str(path)
            ) from None
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path} is not JSON: {exc}", path=str(path)) from None
        return cls.from_json(obj, where=str(path))

    def write(self, path: Path) -> None:
        """Replace ``path`` atomically (it holds nothing secret, but a torn file would lose the key id)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise


@dataclass(frozen=True)
class AgentCredential:
    """An agent key the escrow registered as ``key_id``, with its grant's terms.

    A :class:`~aep2.payer.Payer` holding one signs an agent mandate wherever the payee offers
    agent mandates and the terms allow it (:meth:`unusable_for` says why not), and an EIP-712
    mandate elsewhere.
    """

    key: AgentSigner = field(repr=False)
    key_id: int
    domain: Domain
    grant: AgentKeyGrant
    revoke_at: int = 0

    def __post_init__(self) -> None:
        if self.key.public_key != self.grant.key:
            raise ConfigurationError(
                f"the agent key 0x{self.key.public_key.hex()} is not the grant's key 0x{self.grant.key.hex()}"
            )

    @classmethod
    def load(cls, key_file: str | Path, grant_file: str | Path | None = None) -> AgentCredential:
        """The key in ``key_file`` with the registered grant in ``grant_file`` (default: its sidecar)."""
        key_path = Path(key_file).expanduser()
        path = Path(grant_file).expanduser() if grant_file is not None else sidecar_path(key_path)
        record = GrantRecord.read(path)
        if record.key_id is None:
            raise ConfigurationError(
                f"the grant in {path} is not registered yet: finish `aep2 agent-key authorize`",
                path=str(path),
            )
        return cls(AgentKey.load(key_path), record.key_id, record.domain, record.grant, record.revoke_at)

    @property
    def payer(self) -> str:
        """The escrow account the key's mandates debit."""
        return self.grant.payer

    def unusable_for(self, request: PaymentRequest, *, now: int, deadline: int) -> str | None:
        """Why this key cannot pay ``request`` with a mandate valid until ``deadline``, or ``None``.

        The escrow's rules as far as the grant tells them: the same chain, escrow and token, the
        payee in the key's scope, the key valid from now through the deadline, and not revoked (a
        revocation always takes effect before a later mandate could be settled).
        """
        g, domain = self.grant, self.domain
        if request.chain_id != domain.chain_id:
            return f"it is for chain {domain.chain_id}"
        if request.escrow != domain.escrow:
            return f"it is for escrow {domain.escrow}"
        if request.token != g.token:
            return f"it pays token {g.token}"
        if not (g.any_payee or request.payee == g.payee):
            return f"it may pay only {g.payee}"
        if g.valid_after > now:
            return f"it is valid from {g.valid_after}"
        if deadline > g.valid_until:
            return f"it is valid until {g.valid_until}, before deadline {deadline}"
        if self.revoke_at:
            return f"it was revoked (effective at {self.revoke_at})"
        return None
