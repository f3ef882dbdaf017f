"""Tables of the settlement pipeline: windows, the chunks they are cut into, and which mandates each holds.

They share the store's declarative ``Base`` (one metadata, one Alembic history) but live here,
because the store must not know about settlement; ``0002_settlement`` creates them.
A window is one ``settleMany`` transaction; a chunk is one proof. The signed transaction is
kept on the window before it is broadcast, so a crash after sending can always be looked up
by hash and, if the node dropped it, rebroadcast byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

# The pipeline enqueues alerts in its own transactions: wherever its tables are, the outbox is too.
from aep2.alerts.outbox import AlertRow as AlertRow
from aep2.store.models import Base, utcnow


class WindowState(StrEnum):
    PROVING = "proving"  # chunks are being proved
    PROVED = "proved"  # every chunk has a proof: ready to submit
    SUBMITTED = "submitted"  # the signed transaction is recorded (and maybe broadcast)
    SETTLED = "settled"  # the receipt is in and every mandate is settled or rolled back
    FAILED = "failed"  # given up (proving exhausted its retries, or the tx reverted); see error


class ChunkState(StrEnum):
    BATCHED = "batched"
    PROVING = "proving"
    PROVED = "proved"
    FAILED = "failed"


OPEN_WINDOW_STATES = frozenset({WindowState.PROVING, WindowState.PROVED, WindowState.SUBMITTED})


class WindowRow(Base):
    """One closed settlement window: all its chunks settle in one ``settleMany`` transaction."""

    __tablename__ = "settlement_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    escrow: Mapped[str] = mapped_column(String(42))
    payee: Mapped[str | None] = mapped_column(String(42))  # None: every payee of this store
    tokens: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default=WindowState.PROVING.value, index=True)
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitter: Mapped[str | None] = mapped_column(String(42))
    tx_nonce: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    raw_tx: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    gas_limit: Mapped[int | None] = mapped_column(BigInteger)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)


class ChunkRow(Base):
    """One proof of a window: a ``Settlement`` (as JSON, in ``settleMany`` order) and its proof."""

    __tablename__ = "settlement_chunks"
    __table_args__ = (UniqueConstraint("window_id", "index", name="uq_chunks_window_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("settlement_windows.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    # "batch" (EIP-712 mandates, ``settlement`` a Settlement) or "agent" (an AgentSettlement)
    family: Mapped[str] = mapped_column(String(8), default="batch", server_default="batch")
    verifier_id: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    p: Mapped[int] = mapped_column(Integer)
    settlement: Mapped[dict[str, Any]] = mapped_column(JSON)
    public_input: Mapped[str | None] = mapped_column(String(80))
    proof: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=ChunkState.BATCHED.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    proving_seconds: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChunkMandateRow(Base):
    """Which mandates a chunk settles, in witness order (pair by pair, nonces ascending)."""

    __tablename__ = "settlement_chunk_mandates"

    chunk_id: Mapped[int] = mapped_column(ForeignKey("settlement_chunks.id"), primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
