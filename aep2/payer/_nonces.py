"""Nonce allocation per (payer, payee): committed before any signature exists.

The counter row is written inside the caller's ``BEGIN IMMEDIATE`` transaction
and committed before the mandate is signed, so a crash between allocation and
signing burns a nonce (gaps are allowed) but can never hand one out twice.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from aep2.payer import _db

NONCE_LIMIT = 1 << 63
"""Nonces are uint64 on the wire, but SQLite integers are signed 64-bit: stay below 2^63."""


def allocate(conn: Connection, *, payer: str, payee: str, floor: int | None = None) -> int:
    """The next nonce for the pair, strictly above every earlier one and above ``floor``.

    ``floor`` is the payee's ``extra.nonceFloor``: the highest nonce it has seen
    or settled for us (say, after our database was restored from a backup).
    """
    table = _db.nonces
    key = (table.c.payer == payer) & (table.c.payee == payee)
    last = conn.execute(select(table.c.last_nonce).where(key)).scalar_one_or_none()
    nonce = max(last or 0, floor or 0) + 1
    if nonce >= NONCE_LIMIT:
        raise OverflowError(f"nonce space for {payer} → {payee} is exhausted")
    if last is None:
        conn.execute(insert(table).values(payer=payer, payee=payee, last_nonce=nonce))
    else:
        conn.execute(update(table).where(key).values(last_nonce=nonce))
    return nonce


def last_nonce(conn: Connection, *, payer: str, payee: str) -> int:
    """The highest nonce handed out for the pair so far (0 if none)."""
    table = _db.nonces
    query = select(table.c.last_nonce).where((table.c.payer == payer) & (table.c.payee == payee))
    return int(conn.execute(query).scalar_one_or_none() or 0)
