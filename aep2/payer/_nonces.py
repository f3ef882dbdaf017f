"""Nonce allocation, committed before any signature exists.

Two journals, one per mandate kind, as the payee and the escrow count them: an EIP-712
mandate's sequence runs per (payer, payee), an agent mandate's per (agent key, payee), a key id
being the escrow's (so per chain and escrow). Neither journal affects the other.

The counter row is written inside the caller's ``BEGIN IMMEDIATE`` transaction
and committed before the mandate is signed, so a crash between allocation and
signing burns a nonce (gaps are allowed) but can never hand one out twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, insert, select, update

from aep2.payer import _db

NONCE_LIMIT = 1 << 63
"""Nonces are uint64 on the wire, but SQLite integers are signed 64-bit: stay below 2^63."""


def _where(table: Table, key: dict[str, Any]) -> ColumnElement[bool]:
    return and_(*(table.c[name] == value for name, value in key.items()))


def _allocate(conn: Connection, table: Table, key: dict[str, Any], floor: int | None, what: str) -> int:
    where = _where(table, key)
    last = conn.execute(select(table.c.last_nonce).where(where)).scalar_one_or_none()
    nonce = max(last or 0, floor or 0) + 1
    if nonce >= NONCE_LIMIT:
        raise OverflowError(f"nonce space for {what} is exhausted")
    if last is None:
        conn.execute(insert(table).values(**key, last_nonce=nonce))
    else:
        conn.execute(update(table).where(where).values(last_nonce=nonce))
    return nonce


def _last(conn: Connection, table: Table, key: dict[str, Any]) -> int:
    return int(conn.execute(select(table.c.last_nonce).where(_where(table, key))).scalar_one_or_none() or 0)


def allocate(conn: Connection, *, payer: str, payee: str, floor: int | None = None) -> int:
    """The next EIP-712 nonce for the pair, strictly above every earlier one and above ``floor``.

    ``floor`` is the payee's ``extra.nonceFloor``: the highest nonce it has seen
    or settled for us (say, after our database was restored from a backup).
    """
    return _allocate(conn, _db.nonces, {"payer": payer, "payee": payee}, floor, f"{payer} → {payee}")


def last_nonce(conn: Connection, *, payer: str, payee: str) -> int:
    """The highest EIP-712 nonce handed out for the pair so far (0 if none)."""
    return _last(conn, _db.nonces, {"payer": payer, "payee": payee})


def allocate_agent(
    conn: Connection, *, chain_id: int, escrow: str, key_id: int, payee: str, floor: int | None = None
) -> int:
    """The next agent-mandate nonce of key ``key_id`` (of ``escrow`` on ``chain_id``) for ``payee``."""
    key = {"chain_id": chain_id, "escrow": escrow, "key_id": key_id, "payee": payee}
    return _allocate(conn, _db.agent_nonces, key, floor, f"agent key {key_id} → {payee}")


def last_agent_nonce(conn: Connection, *, chain_id: int, escrow: str, key_id: int, payee: str) -> int:
    """The highest agent-mandate nonce handed out for the sequence so far (0 if none)."""
    key = {"chain_id": chain_id, "escrow": escrow, "key_id": key_id, "payee": payee}
    return _last(conn, _db.agent_nonces, key)
