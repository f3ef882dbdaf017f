"""The payee's check, whole: steps 1-5 offline, then nonce, headroom and persist in one transaction.

Steps 6-8 run inside a single database transaction that holds the payer's
exposure lock (SQLite: the ``BEGIN IMMEDIATE`` write lock; PostgreSQL: ``SELECT
… FOR UPDATE`` on the (payer, token) exposure row), and for an agent mandate its
key's exposure lock too. The unique (payer, key id, payee, nonce) key is the last
line against replays, so two racing requests can never both be accepted, nor
jointly spend more headroom than the payer (or the key's cap) allows.
The chain is read *before* the transaction so no lock waits on an RPC.

Both kinds of mandate take the same eight steps (DESIGN "The payee's check"). An agent
mandate's step 3 reads the escrow's record of its key (``aep2.payee.agent_steps``), which
names the payer; its nonces run per (key, payee) and step 7 also checks the key's cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import Engine

from aep2.agentkey import AnySigned, SignedAgentMandate
from aep2.chain import AgentKeyInfo
from aep2.errors import NONCE_REASONS, ConfigurationError, MandateError, Reason
from aep2.mandate import SignedMandate
from aep2.payee.agent_steps import check_agent_signature, check_key_headroom, check_key_terms, key_on_record
from aep2.payee.chain_view import AgentKeyView, ChainView, PayerPosition
from aep2.payee.config import Settings
from aep2.payee.headroom import Headroom
from aep2.payee.receipts import ReceiptSigner
from aep2.payee.steps import Terms, check_domain, check_price, check_signature, check_time, decoded
from aep2.protocol.call_ref import descriptor_json
from aep2.protocol.receipt import Receipt
from aep2.store import accepted_fields, agent_accepted_fields, nonce_seen
from aep2.store.accept_sql import AcceptStatements
from aep2.store.checkpoint import start_checkpointer
from aep2.store.group_commit import GroupCommit
from aep2.store.mandates import (
    exposure_of,
    highest_in_flight_nonce,
    highest_nonce,
    key_exposure_of,
    stored_receipt,
)


@dataclass(frozen=True)
class Acceptance:
    """An accepted, committed mandate and the receipt the payee signed for it.

    ``payer`` is whose funds it spends: an EIP-712 mandate's signer, an agent mandate's key's
    payer on record. ``replayed`` is True when the payer re-presented a mandate this payee had
    already accepted (say it never saw the answer): the receipt is the stored one and nothing
    was charged again.
    """

    signed: AnySigned
    mandate_id: int
    receipt: dict[str, object]
    payer: str
    replayed: bool = False


@dataclass(frozen=True)
class _Subject:
    """Whose funds a mandate spends and in which nonce sequence: what steps 6-8 need of either kind.

    ``key_id`` is 0 for an EIP-712 mandate; ``position.high_water`` is the sequence's settled mark.
    """

    signed: AnySigned
    payer: str
    key_id: int
    record: AgentKeyInfo | None
    position: PayerPosition


def check_nonce_floor(signed: AnySigned, position: PayerPosition) -> None:
    """Step 6a: above the nonce high-water mark already settled on chain for its sequence."""
    if signed.mandate.nonce <= position.high_water:
        raise MandateError(
            f"nonce {signed.mandate.nonce} is not above the settled high-water mark {position.high_water}",
            reason=Reason.NONCE_BELOW_HIGH_WATER,
        )


def check_batched_floor(signed: AnySigned, batched: int) -> None:
    """Step 6b: above every nonce of the sequence in a closed, unsettled window; its settlement
    will raise the high-water mark past them, so a lower nonce could never settle."""
    if signed.mandate.nonce <= batched:
        raise MandateError(
            f"nonce {signed.mandate.nonce} is not above {batched}, the highest nonce of this pair "
            "already in a settlement window",
            reason=Reason.NONCE_BELOW_BATCHED,
        )


SHADOWED_BY_REPLAY = NONCE_REASONS | {
    Reason.INSUFFICIENT_HEADROOM,
    Reason.INSUFFICIENT_RESERVATION,
    Reason.AGENT_CAP_EXCEEDED,
}
"""Refusals a re-presented, already accepted mandate meets (its own nonce and amount count)."""


def _replayed(subject: _Subject) -> MandateError:
    m = subject.signed.mandate
    signer = f"agent key {subject.key_id}" if subject.record is not None else f"payer {subject.payer}"
    return MandateError(
        f"nonce {m.nonce} of {signer} to payee {m.payee} was already used", reason=Reason.NONCE_REPLAYED
    )


class PayeeCheck:
    """Runs DESIGN's eight steps for one payee; shared by the HTTP, MCP and A2A integrations.

    It accepts the kinds ``settings.mandate_kinds`` lists, others are refused
    (``mandate_unsupported_kind``); accepting agent mandates takes ``agent_keys``, the
    escrow's agent keys.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        chain: ChainView,
        agent_keys: AgentKeyView | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.chain = chain
        self.agent_keys = agent_keys
        self.clock = clock
        self.kinds: tuple[str, ...] = tuple(settings.mandate_kinds)
        """The mandate kinds this payee accepts, as ``PaymentRequirements.extra.kinds`` lists them."""
        if "agent" in self.kinds and agent_keys is None:
            raise ConfigurationError("accepting agent mandates needs a view of the escrow's agent keys")
        self.terms = Terms(
            chain_id=settings.chain_id,
            escrow=settings.escrow,
            payee=settings.payee,
            tokens=frozenset(settings.tokens),
            horizon_seconds=settings.settlement_horizon_seconds,
        )
        self.headroom = Headroom(
            horizon_seconds=settings.settlement_horizon_seconds,
            require_reservations=settings.require_reservations,
            max_exposure_per_payer=settings.max_exposure_per_payer,
        )
        self._receipts = ReceiptSigner(settings.key_bytes)
        # Steps 6b-8 run on the DBAPI cursor with statements compiled once (aep2.store.driver):
        # SQLAlchemy's per-statement machinery cost three times the transaction itself.
        self._sql = AcceptStatements(engine.dialect)
        self._integrity_error: type[Exception] = engine.dialect.loaded_dbapi.IntegrityError
        # SQLite has one writer at a time: the acceptances that queue while one commits share the
        # next transaction and its commit (aep2.store.group_commit), and queue on a Python lock,
        # not in SQLite's busy-wait (sleeps of 1-100 ms). Other processes still queue on BEGIN
        # IMMEDIATE. PostgreSQL locks per payer and commits in parallel: one transaction each.
        self._writes = GroupCommit(engine, refusals=(self._integrity_error,))
        # SQLite: the WAL is checkpointed by a background thread, not by the commit that fills it.
        start_checkpointer(engine, owner=self, gate=self._writes.gate)

    def payer_of(self, signed: AnySigned) -> str:
        """Whose funds ``signed`` spends (an agent mandate: its key's payer on record)."""
        if isinstance(signed, SignedMandate):
            return signed.mandate.payer
        return key_on_record(signed, self._keys()).payer

    def _keys(self) -> AgentKeyView:
        if self.agent_keys is None or "agent" not in self.kinds:
            raise _unsupported("agent", self.kinds)
        return self.agent_keys

    def _steps_1_to_5(self, header: str | bytes, *, price: int, ref: bytes, now: int) -> _Subject:
        """Decode, domain, signature (an agent mandate: the key on record first), price, time."""
        signed = decoded(header)
        check_domain(signed, self.terms)
        record: AgentKeyInfo | None = None
        if isinstance(signed, SignedAgentMandate):
            record = key_on_record(signed, self._keys())
            check_key_terms(signed, record, now=now, horizon_seconds=self.terms.horizon_seconds)
            check_agent_signature(signed, record)
        elif "eip712" not in self.kinds:
            raise _unsupported("eip712", self.kinds)
        else:
            check_signature(signed)
        check_price(signed, price=price, ref=ref)
        check_time(signed, now=now, horizon_seconds=self.terms.horizon_seconds)
        return self._subject(signed, record)

    def _subject(self, signed: AnySigned, record: AgentKeyInfo | None) -> _Subject:
        """Read the payer's position, with the sequence's settled mark (the chain, before any lock)."""
        m = signed.mandate
        if record is None:
            assert isinstance(signed, SignedMandate)
            position = self.chain.position(payer=signed.mandate.payer, payee=m.payee, token=m.token)
            return _Subject(signed, signed.mandate.payer, 0, None, position)
        position = self.chain.position(payer=record.payer, payee=m.payee, token=m.token)
        mark = self._keys().agent_high_water(key_id=record.key_id, payee=m.payee)
        return _Subject(signed, record.payer, record.key_id, record, replace(position, high_water=mark))

    def verify(self, header: str | bytes, *, price: int, ref: bytes) -> AnySigned:
        """Steps 1-7 read-only: what an x402 facilitator's ``verify`` answers (``accept`` decides).

        A mandate already accepted passes: ``accept`` then hands back its stored receipt.
        """
        now = int(self.clock())
        subject = self._steps_1_to_5(header, price=price, ref=ref, now=now)
        try:
            self._verify(subject, now)
        except MandateError as exc:
            if exc.reason not in SHADOWED_BY_REPLAY or self._stored(subject) is None:
                raise
        return subject.signed

    def _verify(self, subject: _Subject, now: int) -> None:
        m = subject.signed.mandate
        with self._nonce_floor_on_rejection(subject):
            check_nonce_floor(subject.signed, subject.position)
            with self.engine.connect() as connection:
                sequence = _sequence(subject)
                batched = highest_in_flight_nonce(session=connection, **sequence)
                check_batched_floor(subject.signed, batched)
                if nonce_seen(session=connection, nonce=m.nonce, **sequence):
                    raise _replayed(subject)
                exposure = exposure_of(session=connection, payer=subject.payer, token=m.token)
                key_exposure = key_exposure_of(session=connection, key_id=subject.key_id)
        self._check_headroom(subject, exposure, key_exposure, now=now)

    def _check_headroom(self, subject: _Subject, exposure: int, key_exposure: int, *, now: int) -> None:
        """Step 7: the payer's headroom, and for an agent mandate its key's remaining cap."""
        m = subject.signed.mandate
        self.headroom.check(m.amount, subject.position, exposure, now=now)
        if subject.record is not None:
            settle_by = m.deadline + self.terms.horizon_seconds
            check_key_headroom(m.amount, subject.record, key_exposure, settle_by=settle_by)

    @contextmanager
    def _nonce_floor_on_rejection(self, subject: _Subject) -> Iterator[None]:
        """On a nonce rejection, tell the payer where to resume: ``context["nonce_floor"]``.

        Only on this (rare) failure path, so the hot path pays no extra query.
        """
        try:
            yield
        except MandateError as exc:
            if exc.reason in NONCE_REASONS:
                with self.engine.connect() as connection:
                    seen = highest_nonce(session=connection, **_sequence(subject))
                exc.context["nonce_floor"] = max(seen, subject.position.high_water)
            raise

    def accept(
        self,
        header: str | bytes,
        *,
        price: int,
        ref: bytes,
        transport: str,
        descriptor: dict[str, str] | None = None,
    ) -> Acceptance:
        """All eight steps; returns only once the mandate and its receipt are committed.

        ``descriptor`` is the call whose keccak256 is ``ref`` (``aep2.protocol.call_ref``); it is
        stored with the mandate for dispute evidence (``aep2.evidence``).

        A mandate this payee already accepted (same digest) comes back with its stored receipt
        (``replayed``), never a second charge: by the time it is re-presented, its nonce may be
        batched or settled and its amount counted, so those refusals look it up first.
        """
        now = self.clock()
        subject = self._steps_1_to_5(header, price=price, ref=ref, now=int(now))
        try:
            return self._accept(subject, now, transport, descriptor)
        except MandateError as exc:
            earlier = self._stored(subject) if exc.reason in SHADOWED_BY_REPLAY else None
            if earlier is None:
                raise
            return earlier

    def _accept(
        self, subject: _Subject, now: float, transport: str, descriptor: dict[str, str] | None
    ) -> Acceptance:
        """Steps 6-8 for a mandate that passed steps 1-5."""
        m = subject.signed.mandate
        with self._nonce_floor_on_rejection(subject):
            check_nonce_floor(subject.signed, subject.position)
        accepted_at = datetime.fromtimestamp(now, UTC)
        receipt = self._receipts.sign(
            Receipt(
                digest="0x" + subject.signed.digest.hex(),
                payer=subject.payer,
                payee=m.payee,
                token=m.token,
                amount=str(m.amount),
                nonce=str(m.nonce),
                accepted_at=accepted_at.isoformat(),
            )
        )
        with self._nonce_floor_on_rejection(subject):
            try:
                mandate_id = self._persist(subject, receipt, accepted_at, transport, descriptor)
            except self._integrity_error:
                raise _replayed(subject) from None
        return Acceptance(signed=subject.signed, mandate_id=mandate_id, receipt=receipt, payer=subject.payer)

    def _stored(self, subject: _Subject) -> Acceptance | None:
        """The earlier acceptance of this exact mandate (same digest), or None for another one."""
        with self.engine.connect() as connection:
            found = stored_receipt(session=connection, digest="0x" + subject.signed.digest.hex())
        if found is None:
            return None
        mandate_id, receipt = found
        return Acceptance(
            signed=subject.signed, mandate_id=mandate_id, receipt=receipt, payer=subject.payer, replayed=True
        )

    def _persist(
        self,
        subject: _Subject,
        receipt: dict[str, object],
        accepted_at: datetime,
        transport: str,
        descriptor: dict[str, str] | None,
    ) -> int:
        """Steps 6b, 7 and 8 in one transaction (shared with those queued beside it), committed on return.

        The batched floor is read under the exposure lock, which closing a window takes too, so
        no window closes between the check and the insert. "Never seen" is the unique (payer,
        key id, payee, nonce) key itself: a replay fails the insert (``IntegrityError``, turned
        into ``nonce_replayed`` by the caller), which saves a query on every accepted call;
        ``verify`` looks the nonce up explicitly.
        """
        m = subject.signed.mandate
        sql = self._sql
        fields = _fields(subject, accepted_at, transport, descriptor)

        def steps_6b_to_8(cursor: Any) -> int:
            exposure = sql.lock_exposure(cursor, payer=subject.payer, token=m.token)
            key_exposure = None
            if subject.record is not None:
                key_exposure = sql.lock_key_exposure(cursor, key_id=subject.key_id)
            check_batched_floor(subject.signed, sql.highest_in_flight_nonce(cursor, **_sequence(subject)))
            self._check_headroom(subject, exposure, key_exposure or 0, now=int(accepted_at.timestamp()))
            mandate_id = sql.insert_accepted(
                cursor, exposure=exposure, key_exposure=key_exposure, fields=fields
            )
            sql.insert_receipt(cursor, mandate_id=mandate_id, signed=receipt)
            return mandate_id

        return self._writes.run(steps_6b_to_8)


def _unsupported(kind: str, kinds: tuple[str, ...]) -> MandateError:
    return MandateError(
        f"this payee does not accept {kind} mandates (kinds: {', '.join(kinds)})",
        reason=Reason.MANDATE_UNSUPPORTED_KIND,
    )


class _Sequence(TypedDict):
    payer: str
    payee: str
    key_id: int


def _sequence(subject: _Subject) -> _Sequence:
    """The store's name of the mandate's nonce sequence (key id 0: the payer's EIP-712 one)."""
    return {"payer": subject.payer, "payee": subject.signed.mandate.payee, "key_id": subject.key_id}


def _fields(
    subject: _Subject, accepted_at: datetime, transport: str, descriptor: dict[str, str] | None
) -> dict[str, object]:
    signed = subject.signed
    if isinstance(signed, SignedAgentMandate):
        fields = agent_accepted_fields(signed, payer=subject.payer, transport=transport)
    else:
        fields = accepted_fields(signed, transport=transport)
    call = descriptor_json(descriptor) if descriptor is not None else None
    return {**fields, "descriptor": call, "accepted_at": accepted_at, "updated_at": accepted_at}
