"""The payee's check, whole: steps 1-5 offline, then nonce, headroom and persist in one transaction.

Steps 6-8 run inside a single database transaction that holds the payer's
exposure lock (SQLite: the ``BEGIN IMMEDIATE`` write lock; PostgreSQL: ``SELECT
… FOR UPDATE`` on the (payer, token) exposure row). The unique (payer, payee,
nonce) key is the last line against replays, so two racing requests can never
both be accepted, nor jointly spend more headroom than the payer has.
The chain is read *before* the transaction so no lock waits on an RPC.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from aep2.errors import NONCE_REASONS, MandateError, Reason
from aep2.mandate import SignedMandate
from aep2.payee.chain_view import ChainView, PayerPosition
from aep2.payee.config import Settings
from aep2.payee.headroom import Headroom
from aep2.payee.receipts import ReceiptSigner
from aep2.payee.steps import Terms, offline_checks
from aep2.store import accepted_fields, insert_accepted, insert_receipt, lock_exposure, nonce_seen
from aep2.store.mandates import exposure_of, highest_in_flight_nonce, highest_nonce, stored_receipt
from aep2.transports.receipt import Receipt


@dataclass(frozen=True)
class Acceptance:
    """An accepted, committed mandate and the receipt the payee signed for it.

    ``replayed`` is True when the payer re-presented a mandate this payee had already accepted
    (say it never saw the answer): the receipt is the stored one and nothing was charged again.
    """

    signed: SignedMandate
    mandate_id: int
    receipt: dict[str, object]
    replayed: bool = False

    @property
    def payer(self) -> str:
        return self.signed.mandate.payer


def check_nonce_floor(signed: SignedMandate, position: PayerPosition) -> None:
    """Step 6a: above the nonce high-water mark already settled on chain for (payer, payee)."""
    if signed.mandate.nonce <= position.high_water:
        raise MandateError(
            f"nonce {signed.mandate.nonce} is not above the settled high-water mark {position.high_water}",
            reason=Reason.NONCE_BELOW_HIGH_WATER,
        )


def check_batched_floor(signed: SignedMandate, batched: int) -> None:
    """Step 6b: above every nonce of the pair in a closed, unsettled window; its settlement will
    raise the high-water mark past them, so a lower nonce could never settle."""
    if signed.mandate.nonce <= batched:
        raise MandateError(
            f"nonce {signed.mandate.nonce} is not above {batched}, the highest nonce of this pair "
            "already in a settlement window",
            reason=Reason.NONCE_BELOW_BATCHED,
        )


SHADOWED_BY_REPLAY = NONCE_REASONS | {Reason.INSUFFICIENT_HEADROOM, Reason.INSUFFICIENT_RESERVATION}
"""Refusals a re-presented, already accepted mandate meets (its own nonce and amount count)."""


def _replayed(signed: SignedMandate) -> MandateError:
    m = signed.mandate
    return MandateError(
        f"nonce {m.nonce} of payer {m.payer} to payee {m.payee} was already used",
        reason=Reason.NONCE_REPLAYED,
    )


class PayeeCheck:
    """Runs DESIGN's eight steps for one payee; shared by the HTTP, MCP and A2A integrations."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        chain: ChainView,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.chain = chain
        self.clock = clock
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
        # SQLite has one writer at a time anyway; queueing this process's writers on a Python lock
        # spares them SQLite's busy-wait polling (sleeps of 1-100 ms). Other processes still
        # queue on BEGIN IMMEDIATE. PostgreSQL locks per payer, so it needs no such gate.
        self._writer: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    def verify(self, header: str | bytes, *, price: int, ref: bytes) -> SignedMandate:
        """Steps 1-7 read-only: what an x402 facilitator's ``verify`` answers (``accept`` decides).

        A mandate already accepted passes: ``accept`` then hands back its stored receipt.
        """
        now = int(self.clock())
        signed = offline_checks(header, terms=self.terms, price=price, ref=ref, now=now)
        try:
            self._verify(signed, now)
        except MandateError as exc:
            if exc.reason not in SHADOWED_BY_REPLAY or self._stored(signed) is None:
                raise
        return signed

    def _verify(self, signed: SignedMandate, now: int) -> None:
        m = signed.mandate
        position = self.chain.position(payer=m.payer, payee=m.payee, token=m.token)
        with self._nonce_floor_on_rejection(signed, position):
            check_nonce_floor(signed, position)
            with self.engine.connect() as connection:
                batched = highest_in_flight_nonce(session=connection, payer=m.payer, payee=m.payee)
                check_batched_floor(signed, batched)
                if nonce_seen(session=connection, payer=m.payer, payee=m.payee, nonce=m.nonce):
                    raise _replayed(signed)
                exposure = exposure_of(session=connection, payer=m.payer, token=m.token)
        self.headroom.check(m.amount, position, exposure, now=now)

    @contextmanager
    def _nonce_floor_on_rejection(self, signed: SignedMandate, position: PayerPosition) -> Iterator[None]:
        """On a nonce rejection, tell the payer where to resume: ``context["nonce_floor"]``.

        Only on this (rare) failure path, so the hot path pays no extra query.
        """
        try:
            yield
        except MandateError as exc:
            if exc.reason in NONCE_REASONS:
                m = signed.mandate
                with self.engine.connect() as connection:
                    seen = highest_nonce(session=connection, payer=m.payer, payee=m.payee)
                exc.context["nonce_floor"] = max(seen, position.high_water)
            raise

    def accept(self, header: str | bytes, *, price: int, ref: bytes, transport: str) -> Acceptance:
        """All eight steps; returns only once the mandate and its receipt are committed.

        A mandate this payee already accepted (same digest) comes back with its stored receipt
        (``replayed``), never a second charge: by the time it is re-presented, its nonce may be
        batched or settled and its amount counted, so those refusals look it up first.
        """
        now = self.clock()
        signed = offline_checks(header, terms=self.terms, price=price, ref=ref, now=int(now))
        try:
            return self._accept(signed, now, transport)
        except MandateError as exc:
            earlier = self._stored(signed) if exc.reason in SHADOWED_BY_REPLAY else None
            if earlier is None:
                raise
            return earlier

    def _accept(self, signed: SignedMandate, now: float, transport: str) -> Acceptance:
        """Steps 6-8 for a mandate that passed steps 1-5."""
        m = signed.mandate
        position = self.chain.position(payer=m.payer, payee=m.payee, token=m.token)
        with self._nonce_floor_on_rejection(signed, position):
            check_nonce_floor(signed, position)
        accepted_at = datetime.fromtimestamp(now, UTC)
        receipt = self._receipts.sign(
            Receipt(
                digest="0x" + signed.digest.hex(),
                payer=m.payer,
                payee=m.payee,
                token=m.token,
                amount=str(m.amount),
                nonce=str(m.nonce),
                accepted_at=accepted_at.isoformat(),
            )
        )
        with self._nonce_floor_on_rejection(signed, position):
            try:
                mandate_id = self._persist(signed, position, receipt, accepted_at, transport)
            except IntegrityError:
                raise _replayed(signed) from None
        return Acceptance(signed=signed, mandate_id=mandate_id, receipt=receipt)

    def _stored(self, signed: SignedMandate) -> Acceptance | None:
        """The earlier acceptance of this exact mandate (same digest), or None for another one."""
        with self.engine.connect() as connection:
            found = stored_receipt(session=connection, digest="0x" + signed.digest.hex())
        if found is None:
            return None
        mandate_id, receipt = found
        return Acceptance(signed=signed, mandate_id=mandate_id, receipt=receipt, replayed=True)

    def _persist(
        self,
        signed: SignedMandate,
        position: PayerPosition,
        receipt: dict[str, object],
        accepted_at: datetime,
        transport: str,
    ) -> int:
        """Steps 6b, 7 and 8 in one transaction, committed on return.

        The batched floor is read under the exposure lock, which closing a window takes too, so
        no window closes between the check and the insert. "Never seen" is the unique (payer,
        payee, nonce) key itself: a replay fails the insert (``IntegrityError``, turned into
        ``nonce_replayed`` by the caller), which saves a query on every accepted call;
        ``verify`` looks the nonce up explicitly.
        """
        m = signed.mandate
        with self._writer, self.engine.begin() as connection:
            exposure = lock_exposure(session=connection, payer=m.payer, token=m.token)
            check_batched_floor(
                signed, highest_in_flight_nonce(session=connection, payer=m.payer, payee=m.payee)
            )
            self.headroom.check(m.amount, position, exposure, now=int(accepted_at.timestamp()))
            mandate_id = insert_accepted(
                session=connection, exposure=exposure, fields=_fields(signed, accepted_at, transport)
            )
            insert_receipt(session=connection, mandate_id=mandate_id, signed=receipt)
            return mandate_id


def _fields(signed: SignedMandate, accepted_at: datetime, transport: str) -> dict[str, object]:
    return {
        **accepted_fields(signed, transport=transport),
        "accepted_at": accepted_at,
        "updated_at": accepted_at,
    }
