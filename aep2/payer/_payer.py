"""The payer facade: requirements in, a signed mandate header out, or a reason why not.

Order of one payment, each step a reason to stop:

1. read the payee's ``PaymentRequirements`` (scheme ``aep2``);
2. compare the payee's ``ref`` with the one we computed for our own call;
3. in one ``BEGIN IMMEDIATE`` transaction: run the policy against the audit
   log, allocate the nonce, append the decision to the audit log, commit;
4. only then sign (locally or remotely) and check the signature recovers to us.

A rejection at any step is appended to the audit log before it is raised.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine

from aep2.errors import Aep2Error, ApprovalRequired, PayerError, PaymentRequestError, Reason
from aep2.mandate import Domain, Mandate, SignedMandate, encode
from aep2.payer import _audit, _db, _nonces
from aep2.payer._audit import APPROVED, REFUSED, REJECTED, AuditEntry, AuditLog
from aep2.payer._engine import PolicyEngine
from aep2.payer._policy import Policy
from aep2.payer._request import PaymentRequest, parse_requirement
from aep2.payer._signer import Signer

FAILED = "failed"
DEFAULT_DEADLINE_MARGIN = 300
"""Seconds added to the payee's ``minDeadlineSeconds``, so clock skew and transit never make us short."""


class _History:
    def __init__(self, conn: Connection, payer: str) -> None:
        self._conn, self._payer = conn, payer

    def spent_since(self, token: str, since: float) -> int:
        return _audit.spent_since(self._conn, payer=self._payer, token=token, since=since)

    def approved_count_since(self, since: float) -> int:
        return _audit.approved_count_since(self._conn, payer=self._payer, since=since)


def _ref_bytes(ref: bytes | str) -> bytes:
    return ref if isinstance(ref, bytes) else bytes.fromhex(ref.removeprefix("0x"))


class Payer:
    """Signs aep2 mandates for one signer, under one policy, with one audit log and nonce store.

    ``approve`` is asked (outside the database lock) when a payment is above the
    policy's ``approval_above``; without it such payments raise :class:`ApprovalRequired`.
    """

    def __init__(
        self,
        signer: Signer,
        policy: Policy | PolicyEngine | str | Path,
        *,
        db: Engine | str | Path | None = None,
        deadline_margin: int = DEFAULT_DEADLINE_MARGIN,
        approve: Callable[[PaymentRequest], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.policy = policy if isinstance(policy, PolicyEngine) else PolicyEngine(policy)
        self.engine = db if isinstance(db, Engine) else _db.open_engine(db)
        self.deadline_margin = deadline_margin
        self._approve = approve
        self._clock = clock

    @property
    def address(self) -> str:
        return self.signer.address

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.engine)

    def pay(
        self,
        requirements: Mapping[str, Any] | BaseModel,
        ref: bytes | str | None = None,
        *,
        resource: str | None = None,
    ) -> str:
        """The mandate header paying ``requirements``; ``ref`` is our own call's ref, if we can compute it."""
        return encode(self.authorize(requirements, ref, resource=resource))

    def authorize(
        self,
        requirements: Mapping[str, Any] | BaseModel,
        ref: bytes | str | None = None,
        *,
        resource: str | None = None,
    ) -> SignedMandate:
        """Like :meth:`pay`, returning the :class:`SignedMandate` rather than its header."""
        request = self._read(requirements, ref, resource)
        try:
            mandate = self._decide(request, approved=False)
        except ApprovalRequired as exc:
            if self._approve is None or exc.reason != Reason.APPROVAL_REQUIRED:
                raise
            if not self._ask(request):
                denied = ApprovalRequired(
                    f"approval of amount {request.amount} was denied", reason=Reason.APPROVAL_DENIED
                )
                self._record_rejection(request, denied)
                raise denied from None
            mandate = self._decide(request, approved=True)
        return self._sign(request, mandate)

    # -- steps ---------------------------------------------------------------

    def _read(
        self, requirements: Mapping[str, Any] | BaseModel, ref: bytes | str | None, resource: str | None
    ) -> PaymentRequest:
        try:
            request = parse_requirement(requirements, resource=resource)
        except PaymentRequestError as exc:
            self._append(
                AuditEntry(self._clock(), REJECTED, exc.reason, exc.message, self.address, resource=resource)
            )
            raise
        if ref is not None and _ref_bytes(ref) != request.ref:
            mismatch = PaymentRequestError(
                f"payee asks to be paid for ref 0x{request.ref.hex()}, our call is 0x{_ref_bytes(ref).hex()}",
                reason=Reason.REF_MISMATCH,
            )
            self._record_rejection(request, mismatch)
            raise mismatch
        return request

    def _decide(self, request: PaymentRequest, *, approved: bool) -> Mandate:
        rejection: PayerError | None = None
        with self.engine.begin() as conn:
            now = self._clock()
            try:
                self.policy.check(request, _History(conn, self.address), now, approved=approved)
            except PayerError as exc:
                rejection = exc
                _audit.append(conn, self._entry(request, now, REJECTED, exc.reason, exc.message))
            else:
                mandate = self._mandate(conn, request, now)
                message = "approved by approver" if approved else "approved by policy"
                _audit.append(conn, self._entry(request, now, APPROVED, APPROVED, message, mandate))
        if rejection is not None:
            raise rejection
        return mandate

    def _mandate(self, conn: Connection, request: PaymentRequest, now: float) -> Mandate:
        nonce = _nonces.allocate(conn, payer=self.address, payee=request.payee, floor=request.nonce_floor)
        return Mandate.build(
            payer=self.address,
            payee=request.payee,
            token=request.token,
            amount=request.amount,
            nonce=nonce,
            deadline=math.ceil(now) + request.min_deadline_seconds + self.deadline_margin,
            ref=request.ref,
        )

    def _sign(self, request: PaymentRequest, mandate: Mandate) -> SignedMandate:
        domain = Domain(chain_id=request.chain_id, escrow=request.escrow)
        try:
            signature = self.signer.sign_typed_data(mandate.typed_data(domain))
            signed = SignedMandate(domain=domain, mandate=mandate, signature=bytes(signature))
            signed.verify()
        except Exception as exc:
            detail = exc.message if isinstance(exc, Aep2Error) else f"{type(exc).__name__}: {exc}"
            failure = PayerError(f"signer {self.signer!r} failed: {detail}", reason=Reason.SIGNER_FAILED)
            self._append(
                self._entry(request, self._clock(), FAILED, failure.reason, failure.message, mandate)
            )
            raise failure from exc
        return signed

    def _ask(self, request: PaymentRequest) -> bool:
        assert self._approve is not None
        try:
            return self._approve(request) is True
        except Exception:  # an approver that crashes has not approved
            return False

    # -- audit ---------------------------------------------------------------

    def _entry(
        self, request: PaymentRequest, now: float, decision: str, reason: str, message: str,
        mandate: Mandate | None = None,
    ) -> AuditEntry:  # fmt: skip
        digest = None
        if mandate is not None:
            digest = "0x" + mandate.digest(Domain(chain_id=request.chain_id, escrow=request.escrow)).hex()
        return AuditEntry(
            at=now, decision=decision, reason=str(reason), message=message, payer=self.address,
            payee=request.payee, token=request.token, amount=request.amount, chain_id=request.chain_id,
            escrow=request.escrow, nonce=None if mandate is None else mandate.nonce,
            deadline=None if mandate is None else mandate.deadline, ref="0x" + request.ref.hex(),
            digest=digest, resource=request.resource,
        )  # fmt: skip

    def record_refusal(self, signed: SignedMandate, reason: str) -> None:
        """Log that the payee refused ``signed`` (with its ``reason`` code), for the owner to see.

        Its amount keeps counting against the policy's limits: a payer cannot check a refusal,
        and a payee that kept the mandate could still settle it until its deadline.
        """
        m, d = signed.mandate, signed.domain
        entry = AuditEntry(
            at=self._clock(), decision=REFUSED, reason=str(reason)[:100], message=f"payee refused: {reason}",
            payer=m.payer, payee=m.payee, token=m.token, amount=m.amount, chain_id=d.chain_id,
            escrow=d.escrow, nonce=m.nonce, deadline=m.deadline, ref="0x" + m.ref.hex(),
            digest="0x" + signed.digest.hex(),
        )  # fmt: skip
        self._append(entry)

    def _record_rejection(self, request: PaymentRequest, exc: PayerError) -> None:
        self._append(self._entry(request, self._clock(), REJECTED, exc.reason, exc.message))

    def _append(self, entry: AuditEntry) -> None:
        with self.engine.begin() as conn:
            _audit.append(conn, entry)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
