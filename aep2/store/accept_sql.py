"""The accept transaction's statements, on the DBAPI cursor (:mod:`aep2.store.driver`).

The same rows and the same locks as :func:`~aep2.store.mandates.lock_exposure`,
:func:`~aep2.store.mandates.highest_in_flight_nonce`, :func:`~aep2.store.mandates.insert_accepted`
and :func:`~aep2.store.mandates.insert_receipt` (which stay the API for sessions and tests);
``tests/test_store_accept_sql.py`` checks both write identical rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from aep2.store.driver import DriverStatement
from aep2.store.models import (
    NO_KEY,
    ExposureRow,
    KeyExposureRow,
    MandateRow,
    MandateState,
    ReceiptRow,
    StateTransitionRow,
    uint64_key,
    utcnow,
)
from aep2.store.states import IN_FLIGHT_STATES

_EXPOSURE_KEY = (ExposureRow.payer == bindparam("p"), ExposureRow.token == bindparam("t"))
_SEQUENCE = (
    MandateRow.payer == bindparam("payer"),
    MandateRow.key_id == bindparam("key_id"),
    MandateRow.payee == bindparam("payee"),
)
# Inline literals, not an expanding IN: the states are constants, and an expanding parameter
# is rewritten into the SQL on every execution.
_IN_FLIGHT: list[ColumnElement[str]] = [
    literal_column(f"'{state.value}'") for state in sorted(IN_FLIGHT_STATES)
]
_MANDATE_COLUMNS = [c.name for c in MandateRow.__table__.columns if c.name != "id"]


def _upsert(dialect: Dialect, table: Any, key: dict[str, Any], index: list[str]) -> Any:
    insert_of = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = insert_of(table).values({**key, "unsettled": "0"})
    return statement.on_conflict_do_update(
        index_elements=index, set_={"unsettled": table.unsettled}
    ).returning(table.unsettled)


class AcceptStatements:
    """The accept transaction's statements compiled for one engine's dialect."""

    def __init__(self, dialect: Dialect) -> None:
        def compiled(statement: Any) -> DriverStatement:
            return DriverStatement(statement, dialect)

        key: dict[str, Any] = {"payer": bindparam("p"), "token": bindparam("t")}
        self._lock = compiled(_upsert(dialect, ExposureRow, key, ["payer", "token"]))
        self._lock_key = compiled(_upsert(dialect, KeyExposureRow, {"key_id": bindparam("k")}, ["key_id"]))
        # max(), not ORDER BY nonce DESC LIMIT 1: the latter made SQLite walk the unique index
        # past the sequence's whole accepted history; this reads its in-flight rows only.
        self._in_flight = compiled(
            select(func.max(MandateRow.nonce)).where(*_SEQUENCE, MandateRow.state.in_(_IN_FLIGHT))
        )
        self._insert_mandate = compiled(
            insert(MandateRow).values({c: bindparam(c) for c in _MANDATE_COLUMNS}).returning(MandateRow.id)
        )
        unsettled: BindParameter[str] = bindparam("unsettled")
        self._raise = compiled(update(ExposureRow).where(*_EXPOSURE_KEY).values(unsettled=unsettled))
        self._raise_key = compiled(
            update(KeyExposureRow).where(KeyExposureRow.key_id == bindparam("k")).values(unsettled=unsettled)
        )
        transition = ("mandate_id", "from_state", "to_state", "at", "reason")
        self._transition = compiled(insert(StateTransitionRow).values({c: bindparam(c) for c in transition}))
        receipt = ("mandate_id", "receipt", "signature", "created_at")
        self._receipt = compiled(insert(ReceiptRow).values({c: bindparam(c) for c in receipt}))

    def lock_exposure(self, cursor: Any, *, payer: str, token: str) -> int:
        """Lock the (payer, token) exposure row until commit and return its unsettled total."""
        return int(self._lock.execute(cursor, {"p": payer, "t": token}).fetchone()[0])

    def lock_key_exposure(self, cursor: Any, *, key_id: int) -> int:
        """Lock an agent key's exposure row until commit (after the payer's) and return its total."""
        return int(self._lock_key.execute(cursor, {"k": uint64_key(key_id)}).fetchone()[0])

    def highest_in_flight_nonce(self, cursor: Any, *, payer: str, payee: str, key_id: int) -> int:
        """The largest nonce of the sequence in a closed, unsettled window, or 0."""
        sequence = {"payer": payer, "payee": payee, "key_id": uint64_key(key_id)}
        value = self._in_flight.execute(cursor, sequence).fetchone()[0]
        return int(value) if value is not None else 0

    def insert_accepted(
        self, cursor: Any, *, exposure: int, fields: dict[str, Any], key_exposure: int | None = None
    ) -> int:
        """Insert the mandate (state accepted), its first transition, and raise its exposures."""
        accepted_at: datetime = fields.get("accepted_at") or utcnow()
        row: dict[str, Any] = {
            "kind": "eip712",
            "key_id": NO_KEY,
            "descriptor": None,
            "state": MandateState.ACCEPTED.value,
            "accepted_at": accepted_at,
            "updated_at": accepted_at,
        } | fields
        mandate_id = int(self._insert_mandate.execute(cursor, row).fetchone()[0])
        raised = str(exposure + int(row["amount"]))
        self._raise.execute(cursor, {"p": row["payer"], "t": row["token"], "unsettled": raised})
        if row["key_id"] != NO_KEY:
            if key_exposure is None:
                raise ValueError("an agent mandate's insert needs its key's locked exposure")
            unsettled = str(key_exposure + int(row["amount"]))
            self._raise_key.execute(cursor, {"k": row["key_id"], "unsettled": unsettled})
        transition = {"mandate_id": mandate_id, "from_state": None, "to_state": row["state"]}
        self._transition.execute(cursor, transition | {"at": accepted_at, "reason": None})
        return mandate_id

    def insert_receipt(self, cursor: Any, *, mandate_id: int, signed: dict[str, Any]) -> None:
        """Store the receipt the payee signed for ``mandate_id``."""
        values = {"mandate_id": mandate_id, "receipt": signed["receipt"], "signature": signed["signature"]}
        self._receipt.execute(cursor, values | {"created_at": utcnow()})
