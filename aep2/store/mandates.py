"""Store functions for mandates: the atomic accept, exposure bookkeeping and state transitions.

Keyword-only ``(*, session, ...)`` functions; the caller owns the transaction.
The hot-path functions accept a Core ``Connection`` as well as an ORM ``Session``:
the payee's check uses a connection, since ORM bookkeeping was most of its cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from aep2.agentkey import SignedAgentMandate, encode_agent
from aep2.mandate import SignedMandate, encode
from aep2.store.models import (
    NO_KEY,
    UNSETTLED_STATES,
    ExposureRow,
    KeyExposureRow,
    MandateRow,
    MandateState,
    ReceiptRow,
    StateTransitionRow,
    uint64_key,
    utcnow,
)
from aep2.store.states import IN_FLIGHT_STATES, check_transition

Executor = Session | Connection


def _dialect(session: Executor) -> str:
    return session.dialect.name if isinstance(session, Connection) else session.get_bind().dialect.name


def lock_exposure(*, session: Executor, payer: str, token: str) -> int:
    """Lock the (payer, token) exposure row for this transaction and return its unsettled total.

    One statement, ``INSERT … ON CONFLICT (payer, token) DO UPDATE SET unsettled =
    unsettled RETURNING unsettled``: it creates the row on first use and, on
    PostgreSQL, leaves it row-locked until commit exactly as ``SELECT … FOR UPDATE``
    would, so two checks draining one payer's headroom serialise while other
    payers run in parallel. On SQLite the transaction already holds the database
    write lock (``BEGIN IMMEDIATE``).
    """
    upsert = _LOCK_EXPOSURE_PG if _dialect(session) == "postgresql" else _LOCK_EXPOSURE_SQLITE
    return int(session.execute(upsert, {"p": payer, "t": token}).scalar_one())


def exposure_of(*, session: Executor, payer: str, token: str) -> int:
    """The (payer, token) unsettled total without locking (for read-only pre-checks)."""
    value = session.execute(_READ_EXPOSURE, {"p": payer, "t": token}).scalar_one_or_none()
    return int(value) if value is not None else 0


def lock_key_exposure(*, session: Executor, key_id: int) -> int:
    """Lock an agent key's exposure row for this transaction and return its unsettled total.

    As :func:`lock_exposure`; the payee takes the payer's lock first, then the key's.
    """
    upsert = _LOCK_KEY_EXPOSURE_PG if _dialect(session) == "postgresql" else _LOCK_KEY_EXPOSURE_SQLITE
    return int(session.execute(upsert, {"k": uint64_key(key_id)}).scalar_one())


def key_exposure_of(*, session: Executor, key_id: int) -> int:
    """An agent key's unsettled total without locking (for read-only pre-checks)."""
    value = session.execute(_READ_KEY_EXPOSURE, {"k": uint64_key(key_id)}).scalar_one_or_none()
    return int(value) if value is not None else 0


def _sequence(payer: str, payee: str, key_id: int) -> dict[str, str]:
    return {"payer": payer, "payee": payee, "key_id": uint64_key(key_id)}


def nonce_seen(*, session: Executor, payer: str, payee: str, nonce: int, key_id: int = 0) -> bool:
    """Whether the sequence (payer, key id, payee) already used ``nonce`` (key id 0: EIP-712)."""
    found = session.execute(_NONCE_SEEN, _sequence(payer, payee, key_id) | {"nonce": uint64_key(nonce)})
    return found.first() is not None


def highest_nonce(*, session: Executor, payer: str, payee: str, key_id: int = 0) -> int:
    """The largest nonce accepted in the sequence (0 if none); padded keys sort numerically."""
    value = session.execute(_HIGHEST_NONCE, _sequence(payer, payee, key_id)).scalar_one_or_none()
    return int(value) if value is not None else 0


def highest_in_flight_nonce(*, session: Executor, payer: str, payee: str, key_id: int = 0) -> int:
    """The largest nonce of the sequence in a closed, unsettled window (batched to submitted), or 0.

    A max over the (payer, key id, payee, state, nonce) index: it reads only the sequence's
    in-flight rows, however long its history (ordering the unique index by nonce instead walked
    past every newer accepted or settled row).
    """
    value = session.execute(_HIGHEST_IN_FLIGHT, _sequence(payer, payee, key_id)).scalar_one_or_none()
    return int(value) if value is not None else 0


def accepted_fields(signed: SignedMandate, *, transport: str) -> dict[str, Any]:
    """The ``mandates`` row of a verified ``signed`` mandate, as ``insert_accepted`` takes it.

    Hex (``0x``-prefixed) ref, signature and digest, the decimal amount, zero-padded nonce and
    deadline keys, and the header it arrived in. Timestamps are the caller's to add.
    """
    return _row(signed, payer=signed.mandate.payer, header=encode(signed), transport=transport)


def agent_accepted_fields(signed: SignedAgentMandate, *, payer: str, transport: str) -> dict[str, Any]:
    """The ``mandates`` row of a verified agent mandate; ``payer`` is its key's payer on record.

    The digest is the mandate's Poseidon2 hash ``M`` (what the key signed), unique per mandate
    and domain as the EIP-712 digest is.
    """
    row = _row(signed, payer=payer, header=encode_agent(signed), transport=transport)
    return row | {"kind": "agent", "key_id": uint64_key(signed.mandate.key_id)}


def _row(
    signed: SignedMandate | SignedAgentMandate, *, payer: str, header: str, transport: str
) -> dict[str, Any]:
    m, d = signed.mandate, signed.domain
    return {
        "chain_id": d.chain_id,
        "escrow": d.escrow,
        "payer": payer,
        "payee": m.payee,
        "token": m.token,
        "amount": str(m.amount),
        "nonce": uint64_key(m.nonce),
        "deadline": uint64_key(m.deadline),
        "ref": "0x" + m.ref.hex(),
        "signature": "0x" + signed.signature.hex(),
        "digest": "0x" + signed.digest.hex(),
        "header": header,
        "transport": transport,
    }


def insert_accepted(
    *, session: Executor, exposure: int, fields: dict[str, Any], key_exposure: int | None = None
) -> int:
    """Insert an accepted mandate, its first transition, and raise its (payer, token) exposure.

    An agent mandate (``fields["key_id"]`` not :data:`NO_KEY`) raises its key's exposure too,
    from ``key_exposure`` (what :func:`lock_key_exposure` returned in this transaction).

    Core statements rather than ORM units of work: this runs inside the payee's
    write lock on every paid call, and the ORM's bookkeeping was most of its cost.
    Returns the new mandate's id.
    """
    accepted_at = fields.get("accepted_at") or utcnow()
    row: dict[str, Any] = {
        "state": MandateState.ACCEPTED.value,
        "accepted_at": accepted_at,
        "updated_at": accepted_at,
    } | fields
    mandate_id = int(session.execute(_INSERT_MANDATE, row).scalar_one())
    session.execute(
        _RAISE_EXPOSURE,
        {"p": row["payer"], "t": row["token"], "unsettled": str(exposure + int(row["amount"]))},
    )
    if row.get("key_id", NO_KEY) != NO_KEY:
        if key_exposure is None:
            raise ValueError("an agent mandate's insert needs its key's locked exposure")
        unsettled = str(key_exposure + int(row["amount"]))
        session.execute(_SET_KEY_EXPOSURE, {"k": row["key_id"], "unsettled": unsettled})
    session.execute(
        _INSERT_TRANSITION,
        {
            "mandate_id": mandate_id,
            "from_state": None,
            "to_state": row["state"],
            "at": accepted_at,
            "reason": None,
        },
    )
    return mandate_id


def stored_receipt(*, session: Executor, digest: str) -> tuple[int, dict[str, Any]] | None:
    """The mandate id and signed receipt of the accepted mandate with this EIP-712 ``digest``, if any.

    What a payer re-presenting the very same mandate (it never saw our answer) gets back instead of
    a second charge; the digest covers every field, the ref included.
    """
    row = session.execute(_STORED_RECEIPT, {"digest": digest}).first()
    if row is None:
        return None
    return int(row.id), {"receipt": dict(row.receipt), "signature": str(row.signature)}


def insert_receipt(*, session: Executor, mandate_id: int, signed: dict[str, Any]) -> None:
    session.execute(
        _INSERT_RECEIPT,
        {
            "mandate_id": mandate_id,
            "receipt": signed["receipt"],
            "signature": signed["signature"],
            "created_at": utcnow(),
        },
    )


# Statements built once: the hot path only binds values (no per-call cache-key work).
_EXPOSURE_KEY = (ExposureRow.payer == bindparam("p"), ExposureRow.token == bindparam("t"))
_EXPOSURE_ROW = {"payer": bindparam("p"), "token": bindparam("t"), "unsettled": "0"}
_LOCK_EXPOSURE_SQLITE = (
    sqlite.insert(ExposureRow)
    .values(_EXPOSURE_ROW)
    .on_conflict_do_update(index_elements=["payer", "token"], set_={"unsettled": ExposureRow.unsettled})
    .returning(ExposureRow.unsettled)
)
_LOCK_EXPOSURE_PG = (
    postgresql.insert(ExposureRow)
    .values(_EXPOSURE_ROW)
    .on_conflict_do_update(index_elements=["payer", "token"], set_={"unsettled": ExposureRow.unsettled})
    .returning(ExposureRow.unsettled)
)
_READ_EXPOSURE = select(ExposureRow.unsettled).where(*_EXPOSURE_KEY)
_KEY_EXPOSURE_ROW = {"key_id": bindparam("k"), "unsettled": "0"}
_LOCK_KEY_EXPOSURE_SQLITE = (
    sqlite.insert(KeyExposureRow)
    .values(_KEY_EXPOSURE_ROW)
    .on_conflict_do_update(index_elements=["key_id"], set_={"unsettled": KeyExposureRow.unsettled})
    .returning(KeyExposureRow.unsettled)
)
_LOCK_KEY_EXPOSURE_PG = (
    postgresql.insert(KeyExposureRow)
    .values(_KEY_EXPOSURE_ROW)
    .on_conflict_do_update(index_elements=["key_id"], set_={"unsettled": KeyExposureRow.unsettled})
    .returning(KeyExposureRow.unsettled)
)
_READ_KEY_EXPOSURE = select(KeyExposureRow.unsettled).where(KeyExposureRow.key_id == bindparam("k"))
_SET_KEY_EXPOSURE = (
    update(KeyExposureRow)
    .where(KeyExposureRow.key_id == bindparam("k"))
    .values(unsettled=bindparam("unsettled"))
)
_SEQUENCE = (
    MandateRow.payer == bindparam("payer"),
    MandateRow.key_id == bindparam("key_id"),
    MandateRow.payee == bindparam("payee"),
)
_NONCE_SEEN = select(MandateRow.id).where(*_SEQUENCE, MandateRow.nonce == bindparam("nonce")).limit(1)
_HIGHEST_NONCE = select(func.max(MandateRow.nonce)).where(*_SEQUENCE)
_HIGHEST_IN_FLIGHT = select(func.max(MandateRow.nonce)).where(
    *_SEQUENCE,
    MandateRow.state.in_([s.value for s in IN_FLIGHT_STATES]),
)
_STORED_RECEIPT = (
    select(MandateRow.id, ReceiptRow.receipt, ReceiptRow.signature)
    .join(ReceiptRow, ReceiptRow.mandate_id == MandateRow.id)
    .where(MandateRow.digest == bindparam("digest"))
)
_INSERT_MANDATE = insert(MandateRow).returning(MandateRow.id)
_RAISE_EXPOSURE = update(ExposureRow).where(*_EXPOSURE_KEY).values(unsettled=bindparam("unsettled"))
_INSERT_TRANSITION = insert(StateTransitionRow)
_INSERT_RECEIPT = insert(ReceiptRow)


def transition(
    *, session: Session, mandate_ids: Iterable[int], to: MandateState, reason: str | None = None
) -> int:
    """Move mandates to ``to``, recording each change; leaving the unsettled states releases exposure.

    Returns how many mandates changed state (one already in ``to`` is left alone, so a re-run
    task is harmless). Raises :class:`~aep2.store.states.InvalidTransition` for an edge not in
    :data:`~aep2.store.states.TRANSITIONS`. The settlement pipeline calls this.
    """
    now: datetime = utcnow()
    rows = session.execute(select(MandateRow).where(MandateRow.id.in_(list(mandate_ids)))).scalars().all()
    changed = 0
    for row in rows:
        if row.state == to.value:
            continue
        check_transition(MandateState(row.state), to)
        if row.state in UNSETTLED_STATES and to not in UNSETTLED_STATES:
            exposure = lock_exposure(session=session, payer=row.payer, token=row.token)
            released = {"p": row.payer, "t": row.token, "unsettled": str(exposure - int(row.amount))}
            session.execute(_RAISE_EXPOSURE, released)
            if row.key_id != NO_KEY:
                key_exposure = lock_key_exposure(session=session, key_id=int(row.key_id))
                left = str(key_exposure - int(row.amount))
                session.execute(_SET_KEY_EXPOSURE, {"k": row.key_id, "unsettled": left})
        session.add(
            StateTransitionRow(
                mandate_id=row.id, from_state=row.state, to_state=to.value, at=now, reason=reason
            )
        )
        row.state, row.updated_at = to.value, now
        changed += 1
    return changed


def count_mandates(*, session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM mandates")).scalar_one())
