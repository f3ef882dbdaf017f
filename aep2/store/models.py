"""Tables of the payee's store: accepted mandates, their receipts, state history and audit log.

Amounts are decimal strings: they reach 2^96 per mandate and more when summed,
beyond what SQLite integers or floats hold exactly, so arithmetic happens in
Python and the database only stores and compares. uint64 nonces and deadlines
overflow the signed 64-bit integers of SQLite and PostgreSQL, so they are
stored as 20-digit zero-padded decimals (:func:`uint64_key`): unique and
ordered exactly like the numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Re-exported: the state machine is defined in aep2.store.states, callers also import it from here.
from aep2.store.states import UNSETTLED_STATES as UNSETTLED_STATES
from aep2.store.states import MandateState as MandateState


def uint64_key(value: int) -> str:
    """The stored spelling of a uint64: 20 digits, zero-padded, so text order is numeric order."""
    return f"{value:020d}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


NO_KEY: str = uint64_key(0)
"""``key_id`` of an EIP-712 mandate (agent key ids start at 1): a value, not NULL, so the unique
nonce key covers EIP-712 rows too (SQL treats NULLs as distinct)."""


class MandateRow(Base):
    """An accepted mandate, exactly as signed; the unique key is the replay guard.

    A nonce sequence is (payer, key id, payee): an EIP-712 mandate's is the payer's own
    (``key_id`` :data:`NO_KEY`), an agent mandate's runs per (agent key, payee), its ``payer`` the
    key's payer on record in the escrow, so exposure and headroom stay per payer.
    """

    __tablename__ = "mandates"
    __table_args__ = (
        UniqueConstraint("payer", "key_id", "payee", "nonce", name="uq_mandates_sequence_nonce"),
        Index("ix_mandates_state_payer", "state", "payer"),
        # The accept path's in-flight nonce lookup seeks (sequence, state) for each in-flight
        # state: without ``state`` in the key it walked the whole sequence's history, newest
        # first, past every accepted and settled row, so accept grew with the payer's history.
        Index("ix_mandates_sequence_state_nonce", "payer", "key_id", "payee", "state", "nonce"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    escrow: Mapped[str] = mapped_column(String(42))
    kind: Mapped[str] = mapped_column(String(8), default="eip712", server_default="eip712")
    key_id: Mapped[str] = mapped_column(String(20), default=NO_KEY, server_default=NO_KEY)
    payer: Mapped[str] = mapped_column(String(42))
    payee: Mapped[str] = mapped_column(String(42))
    token: Mapped[str] = mapped_column(String(42))
    amount: Mapped[str] = mapped_column(String(80))
    nonce: Mapped[str] = mapped_column(String(20))
    deadline: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(66))
    signature: Mapped[str] = mapped_column(String(132))
    digest: Mapped[str] = mapped_column(String(66), unique=True)
    header: Mapped[str] = mapped_column(String(1024))
    transport: Mapped[str] = mapped_column(String(16))
    # The call the mandate paid for: the canonical JSON whose keccak256 is ``ref``
    # (``aep2.protocol.call_ref``), kept for dispute evidence; None where the transport
    # did not hand it to the check (the x402 SDK facilitator sees the ref alone).
    descriptor: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=MandateState.ACCEPTED.value)
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExposureRow(Base):
    """Accepted-but-unsettled total per (payer, token): the headroom aggregate and its lock row."""

    __tablename__ = "exposures"

    payer: Mapped[str] = mapped_column(String(42), primary_key=True)
    token: Mapped[str] = mapped_column(String(42), primary_key=True)
    unsettled: Mapped[str] = mapped_column(String(80), default="0")


class KeyExposureRow(Base):
    """Accepted-but-unsettled total per agent key: what the key's remaining cap must still cover."""

    __tablename__ = "key_exposures"

    key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    unsettled: Mapped[str] = mapped_column(String(80), default="0")


class ReceiptRow(Base):
    """The receipt the payee signed for an accepted mandate (what the payer was given)."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"), unique=True)
    receipt: Mapped[dict[str, Any]]
    signature: Mapped[str] = mapped_column(String(132))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StateTransitionRow(Base):
    """One committed state change of a mandate; the settlement pipeline's history."""

    __tablename__ = "state_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(200))


class AuditEntryRow(Base):
    """An append-only audit record, generic enough for the payer's policy log and the payee alike."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
