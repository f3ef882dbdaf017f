"""Nonces handed out from blocks, each block reserved durably before any nonce in it is signed.

Two journals, one per mandate kind, as the payee and the escrow count them: an EIP-712
mandate's sequence runs per (payer, payee), an agent mandate's per (agent key, payee), a key id
being the escrow's (so per chain and escrow). Neither journal affects the other.

A sequence's row holds ``reserved``, the end of the highest block any payer process reserved
(fsynced before a nonce of the block is signed), and ``last_nonce``, the highest nonce handed
out (written with each decision). A block starts above both, and above the payee's ``nonceFloor``; the
first block of a sequence in a process holds one nonce and each next one twice as many, up to
``MAX_BLOCK``. So a crash at any instant can burn the rest of a block (gaps are allowed) but never
hand a nonce out twice, not even after a power loss; :meth:`Nonces.give_back` returns the unused
rest of a block on a clean close while no other process has reserved above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy import Table

from aep2.payer import _db

NONCE_LIMIT = 1 << 63
"""Nonces are uint64 on the wire, but SQLite integers are signed 64-bit: stay below 2^63."""
MAX_BLOCK = 1024
"""The most nonces one reservation takes: what a crash can burn per sequence."""


@dataclass(frozen=True)
class Sequence:
    """One nonce sequence: its journal table and its key there."""

    table: Table
    key: tuple[tuple[str, Any], ...]

    @classmethod
    def eip712(cls, *, payer: str, payee: str) -> Sequence:
        return cls(_db.nonces, (("payer", payer), ("payee", payee)))

    @classmethod
    def agent(cls, *, chain_id: int, escrow: str, key_id: int, payee: str) -> Sequence:
        key = (("chain_id", chain_id), ("escrow", escrow), ("key_id", key_id), ("payee", payee))
        return cls(_db.agent_nonces, key)

    @cached_property
    def values(self) -> tuple[Any, ...]:
        return tuple(value for _, value in self.key)

    @cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.key)

    @cached_property
    def advance(self) -> str:
        """The statement every decision runs: ``last_nonce`` up to the nonce handed out."""
        return self.sql("UPDATE {table} SET last_nonce = MAX(last_nonce, ?) WHERE {where}")

    def sql(self, statement: str) -> str:
        """``statement`` with ``{table}``, ``{where}`` and ``{columns}``/``{marks}`` for this journal."""
        return _sql(statement, self.table.name, self._names)

    def __str__(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.key)


@lru_cache(maxsize=64)
def _sql(statement: str, table: str, names: tuple[str, ...]) -> str:
    where = " AND ".join(f"{name} = ?" for name in names)
    return statement.format(
        table=table, where=where, columns=", ".join(names), marks=", ".join("?" * len(names))
    )


@dataclass
class _Block:
    next: int
    end: int


@dataclass
class Nonces:
    """The blocks this process holds, one per sequence, and how large to make the next."""

    blocks: dict[Sequence, _Block] = field(default_factory=dict)
    sizes: dict[Sequence, int] = field(default_factory=dict)

    def peek(self, sequence: Sequence, floor: int | None) -> int | None:
        """The next nonce of ``sequence`` above ``floor`` if our block has it, else ``None``."""
        block = self.blocks.get(sequence)
        if block is None:
            return None
        nonce = max(block.next, (floor or 0) + 1)
        return nonce if nonce <= block.end else None

    def take(self, cursor: Any, sequence: Sequence, floor: int | None) -> int:
        """Hand out the next nonce, reserving a new block first (in the caller's transaction, which
        must then be fsynced) if ours has none left; the journal's ``last_nonce`` moves with it."""
        nonce = self.peek(sequence, floor)
        if nonce is None:
            nonce = self._reserve(cursor, sequence, floor)
        self.blocks[sequence].next = nonce + 1
        cursor.execute(sequence.advance, (nonce, *sequence.values))
        return nonce

    def _reserve(self, cursor: Any, sequence: Sequence, floor: int | None) -> int:
        row = cursor.execute(
            sequence.sql("SELECT last_nonce, COALESCE(reserved, last_nonce) FROM {table} WHERE {where}"),
            sequence.values,
        ).fetchone()
        if row is None:
            cursor.execute(sequence.sql("INSERT INTO {table} ({columns}, last_nonce) VALUES ({marks}, 0)"),
                           sequence.values)  # fmt: skip
            row = (0, 0)
        start = max(int(row[0]), int(row[1]), floor or 0) + 1
        if start >= NONCE_LIMIT:
            raise OverflowError(f"nonce space for {sequence} is exhausted")
        size = self.sizes.get(sequence, 0)
        size = min(max(2 * size, 1), MAX_BLOCK)
        end = min(start + size - 1, NONCE_LIMIT - 1)
        cursor.execute(sequence.sql("UPDATE {table} SET reserved = ? WHERE {where}"), (end, *sequence.values))
        self.sizes[sequence] = size
        self.blocks[sequence] = _Block(start, end)
        return start

    def give_back(self, cursor: Any) -> None:
        """Return the unused rest of each block to its journal, unless someone reserved above it."""
        for sequence, block in self.blocks.items():
            if block.next <= block.end:
                cursor.execute(
                    sequence.sql("UPDATE {table} SET reserved = ? WHERE {where} AND reserved = ?"),
                    (block.next - 1, *sequence.values, block.end),
                )
        self.blocks.clear()


def last_nonce(cursor: Any, sequence: Sequence) -> int:
    """The highest nonce handed out in ``sequence`` so far (0 if none)."""
    query = sequence.sql("SELECT last_nonce FROM {table} WHERE {where}")
    row = cursor.execute(query, sequence.values).fetchone()
    return 0 if row is None else int(row[0])
