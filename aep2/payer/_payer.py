"""The payer facade: requirements in, a signed mandate header out, or a reason why not.

Order of one payment, each step a reason to stop:

1. read the payee's ``PaymentRequirements`` (scheme ``aep2``);
2. compare the payee's ``ref`` with the one we computed for our own call;
3. under the journal's gate, in one ``BEGIN IMMEDIATE`` transaction: choose the
   mandate kind (an agent mandate where the payee offers one and our agent key's
   grant covers the payment, else EIP-712), run the policy (the rolling windows
   against this token's lease, or against the budget ledger when a new lease is
   needed: both kinds count, it is one payer's money), take the nonce from that
   kind's block, append the decision to the audit log, commit (with an fsync when
   the transaction reserved a new lease or nonce block);
4. only then, outside the gate, sign (locally or remotely) and check the
   signature: it recovers to us, or verifies under the agent key's public key
   (a key held in this process: its first signature only, :meth:`Payer._check_needed`).

A rejection at any step is appended to the audit log before it is raised. One payer may be
shared by any number of threads (and asyncio tasks, through a worker thread each).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from coincurve import PublicKey
from pydantic import BaseModel
from sqlalchemy import Engine

from aep2.agentkey import AgentKey, AgentMandate, AnySigned, SignedAgentMandate, encode_any, message_hash
from aep2.errors import (
    Aep2Error,
    ApprovalRequired,
    ConfigurationError,
    PayerError,
    PaymentRequestError,
    PolicyViolation,
    Reason,
    SignatureError,
)
from aep2.mandate import KIND_AGENT, KIND_EIP712, Domain, Mandate, SignedMandate, checksum
from aep2.mandate._signature import address_of, recover_public_key
from aep2.payer import _db, _journal
from aep2.payer._audit import APPROVED, REFUSED, REJECTED, AuditEntry, AuditLog
from aep2.payer._budget import Ledger
from aep2.payer._credential import AgentCredential
from aep2.payer._engine import PolicyEngine, check_approval, check_request, check_windows, fail_closed
from aep2.payer._nonces import Sequence
from aep2.payer._policy import Policy
from aep2.payer._request import PaymentRequest, parse_requirement
from aep2.payer._routes import RouteCache
from aep2.payer._signer import LocalKeySigner, Signer

FAILED = "failed"
_IN_PROCESS = (LocalKeySigner, AgentKey)
"""Key types that sign in this process with a library, checked on their first signature only."""
DEFAULT_DEADLINE_MARGIN = 300
"""Seconds added to the payee's ``minDeadlineSeconds``, so clock skew and transit never make us short."""


@dataclass(frozen=True)
class _Kind:
    """The mandate kind chosen for a payment: an agent mandate of ``agent``, or EIP-712 (``None``)."""

    agent: AgentCredential | None

    @property
    def name(self) -> str:
        return KIND_EIP712 if self.agent is None else KIND_AGENT


def _ref_bytes(ref: bytes | str) -> bytes:
    return ref if isinstance(ref, bytes) else bytes.fromhex(ref.removeprefix("0x"))


@lru_cache(maxsize=256)
def _domain(chain_id: int, escrow: str) -> Domain:
    """One :class:`Domain` per chain and escrow, so its separator is hashed once, not per payment."""
    return Domain(chain_id=chain_id, escrow=escrow)


@lru_cache(maxsize=4096)
def _eip712_sequence(payer: str, payee: str) -> Sequence:
    """One :class:`Sequence` per payer and payee, its statements and key values built once."""
    return Sequence.eip712(payer=payer, payee=payee)


@lru_cache(maxsize=4096)
def _agent_sequence(chain_id: int, escrow: str, key_id: int, payee: str) -> Sequence:
    return Sequence.agent(chain_id=chain_id, escrow=escrow, key_id=key_id, payee=payee)


def _digest(domain: Domain, mandate: Mandate | AgentMandate) -> bytes:
    """What the signer signs: the EIP-712 digest, or an agent mandate's Poseidon2 hash ``M``."""
    if isinstance(mandate, Mandate):
        return mandate.digest(domain)
    return message_hash(domain.separator, mandate)


class Payer:
    """Signs aep2 mandates for one payer, under one policy, with one audit log and nonce store.

    ``signer`` signs EIP-712 mandates with the payer's account key; ``agent`` (an
    :class:`AgentCredential`) signs agent mandates for payees that offer them. Either may be
    ``None``, not both; with both, the agent key must be the signer's (its grant's payer).

    ``approve`` is asked (outside the database lock) when a payment is above the
    policy's ``approval_above``; without it such payments raise :class:`ApprovalRequired`.
    """

    def __init__(
        self,
        signer: Signer | None,
        policy: Policy | PolicyEngine | str | Path,
        *,
        agent: AgentCredential | None = None,
        db: Engine | str | Path | None = None,
        deadline_margin: int = DEFAULT_DEADLINE_MARGIN,
        approve: Callable[[PaymentRequest], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if signer is None and agent is None:
            raise ConfigurationError("a payer needs an account signer, an agent key, or both")
        if signer is not None and agent is not None and signer.address != agent.payer:
            raise ConfigurationError(
                f"agent key {agent.key_id} pays for {agent.payer}, not for the signer {signer.address}"
            )
        self.signer = signer
        self.agent = agent
        self.policy = policy if isinstance(policy, PolicyEngine) else PolicyEngine(policy)
        self.engine = db if isinstance(db, Engine) else _db.open_engine(db)
        self.deadline_margin = deadline_margin
        self._approve = approve
        self._clock = clock
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            raise ConfigurationError(f"the payer's database must be a SQLite file, not {self.engine.url}")
        self._journal = _journal.attach(database)
        self._budget = self._journal.budget(self.address)
        self._nonces = self._journal.nonces
        self._account_key: bytes | None = None
        self._proven: dict[str, object] = {}
        """Per kind, the in-process key whose first signature passed its check (:meth:`_check_needed`)."""
        self.routes = RouteCache()
        """Terms of the routes this payer paid, for transports that pay on the first request."""

    @property
    def address(self) -> str:
        """The escrow account debited, whichever kind of mandate pays."""
        if self.signer is not None:
            return self.signer.address
        assert self.agent is not None
        return self.agent.payer

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
        return encode_any(self.authorize(requirements, ref, resource=resource))

    def authorize(
        self,
        requirements: Mapping[str, Any] | BaseModel,
        ref: bytes | str | None = None,
        *,
        resource: str | None = None,
    ) -> AnySigned:
        """Like :meth:`pay`, returning the signed mandate (a :class:`SignedMandate` or a
        :class:`SignedAgentMandate`) rather than its header."""
        request = self._read(requirements, ref, resource)
        try:
            mandate, digest = self._decide(request, approved=False)
        except ApprovalRequired as exc:
            if self._approve is None or exc.reason != Reason.APPROVAL_REQUIRED:
                raise
            if not self._ask(request):
                denied = ApprovalRequired(
                    f"approval of amount {request.amount} was denied", reason=Reason.APPROVAL_DENIED
                )
                self._record_rejection(request, denied)
                raise denied from None
            mandate, digest = self._decide(request, approved=True)
        return self._sign(request, mandate, digest)

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

    def _decide(self, request: PaymentRequest, *, approved: bool) -> tuple[Mandate | AgentMandate, bytes]:
        """The approved mandate and its digest (logged here, signed next), or the rejection raised."""
        with self._journal.gate:
            now = self._clock()
            deadline = math.ceil(now) + request.min_deadline_seconds + self.deadline_margin
            kind: _Kind | None = None
            try:
                kind = _Kind(self._kind(request, now=math.floor(now), deadline=deadline))
                policy = self.policy.current()
                fail_closed(lambda: check_request(policy, request, now))
            except PayerError as exc:
                rejected = self._entry(request, now, REJECTED, exc.reason, exc.message, kind=kind)
                with self._journal.transaction() as cursor:
                    self._journal.append(cursor, rejected)
                raise
            try:
                return self._commit(request, policy, kind, now, deadline, approved=approved)
            except PayerError:
                raise
            except BaseException:  # rolled back: forget what this process holds, the database is the truth
                self._journal.forget()
                raise

    def _commit(
        self, request: PaymentRequest, policy: Policy, kind: _Kind, now: float, deadline: int,
        *, approved: bool,
    ) -> tuple[Mandate | AgentMandate, bytes]:  # fmt: skip
        """The decision's transaction, under the gate: windows (from the lease, or the ledger and a new
        lease), approval, nonce, audit row; fsynced when it reserved a lease or a nonce block."""
        sequence = self._sequence(request, kind.agent)
        leased = self._budget.covers(policy, request, now)
        blocked = self._nonces.peek(sequence, request.nonce_floor) is None  # a new block is needed
        rejection: PayerError | None = None
        with self._journal.transaction() as cursor:
            try:
                ledger = None if leased else self._windows(cursor, policy, request, now)
                fail_closed(lambda: check_approval(policy, request, approved=approved))
                if ledger is not None:
                    self._budget.reserve(cursor, policy, request, ledger, now)
            except PayerError as exc:
                rejection = exc
                fields = self._fields(request, now, REJECTED, exc.reason, exc.message, kind=kind)
            else:
                self._budget.draw(request)
                nonce = self._nonces.take(cursor, sequence, request.nonce_floor)
                mandate = self._mandate(request, kind.agent, nonce, deadline)
                digest = _digest(_domain(request.chain_id, request.escrow), mandate)
                message = "approved by approver" if approved else "approved by policy"
                fields = self._fields(request, now, APPROVED, APPROVED, message, mandate, kind, digest)
            self._journal.append(cursor, AuditEntry.row_of(fields))
        if rejection is not None:
            raise rejection
        if blocked or not leased:  # reserved a nonce block or a lease: durable before it is used
            self._journal.sync()
        return mandate, digest

    def _windows(self, cursor: Any, policy: Policy, request: PaymentRequest, now: float) -> Ledger:
        """The rolling windows checked against the ledger, once this token's lease (and any that can
        no longer be drawn from) is released; our other tokens' leases too if the rate limit needs."""
        self._budget.release(cursor, now, token=request.token)
        ledger = Ledger(cursor, self.address)
        try:
            fail_closed(lambda: check_windows(policy, request, ledger, now))
        except PolicyViolation as exc:
            if exc.reason != Reason.POLICY_RATE_LIMIT or not self._budget.others(request.token):
                raise
            self._budget.release(cursor, now, every=True)  # their unused payments count until released
            ledger = Ledger(cursor, self.address)
            fail_closed(lambda: check_windows(policy, request, ledger, now))
        return ledger

    def _kind(self, request: PaymentRequest, *, now: int, deadline: int) -> AgentCredential | None:
        """Our agent credential if it can pay ``request``, else ``None`` for an EIP-712 mandate;
        raises when neither kind we can sign is one the payee accepts."""
        why = "this payer holds no agent key"
        if self.agent is not None:
            why = "the payee does not accept agent mandates"
            if KIND_AGENT in request.kinds:
                unusable = self.agent.unusable_for(request, now=now, deadline=deadline)
                if unusable is None:
                    return self.agent
                why = f"agent key {self.agent.key_id} cannot pay it: {unusable}"
        if self.signer is not None and KIND_EIP712 in request.kinds:
            return None
        without = "no account signer" if self.signer is None else "the payee does not accept them"
        raise PaymentRequestError(
            f"{why}; and EIP-712 mandates: {without} (the payee accepts {list(request.kinds)})",
            reason=Reason.NO_USABLE_MANDATE_KIND,
        )

    def _sequence(self, request: PaymentRequest, agent: AgentCredential | None) -> Sequence:
        if agent is None:
            return _eip712_sequence(self.address, request.payee)
        return _agent_sequence(request.chain_id, request.escrow, agent.key_id, request.payee)

    def _mandate(
        self, request: PaymentRequest, agent: AgentCredential | None, nonce: int, deadline: int
    ) -> Mandate | AgentMandate:
        terms = {"payee": request.payee, "token": request.token, "amount": request.amount,
                 "deadline": deadline, "ref": request.ref, "nonce": nonce}  # fmt: skip
        if agent is None:
            return Mandate.build(payer=self.address, **terms)
        return AgentMandate.build(key_id=agent.key_id, **terms)

    def _sign(self, request: PaymentRequest, mandate: Mandate | AgentMandate, digest: bytes) -> AnySigned:
        domain = _domain(request.chain_id, request.escrow)
        signer = repr(self.signer) if isinstance(mandate, Mandate) else f"agent key {mandate.key_id}"
        try:
            signed: AnySigned
            if isinstance(mandate, Mandate):
                assert self.signer is not None
                if isinstance(self.signer, LocalKeySigner):  # in process: it signs the digest logged above
                    signature = self.signer.unsafe_sign_digest(digest)
                else:
                    signature = self.signer.sign_typed_data(mandate.typed_data(domain))
                signed = SignedMandate(domain=domain, mandate=mandate, signature=bytes(signature))
                if self._check_needed(KIND_EIP712, self.signer):
                    self._check_recovers(signed, digest)
                    self._passed(KIND_EIP712, self.signer)
            else:
                assert self.agent is not None
                key = self.agent.key
                if isinstance(key, AgentKey):  # in process: it signs the M logged above, kept on `signed`
                    signed = key.sign_mandate(domain, mandate, digest=digest)
                else:
                    signature = key.sign(domain.separator, mandate)
                    signed = SignedAgentMandate(domain=domain, mandate=mandate, signature=bytes(signature))
                if self._check_needed(KIND_AGENT, key):
                    signed.verify(self.agent.grant.key)
                    self._passed(KIND_AGENT, key)
        except Exception as exc:
            detail = exc.message if isinstance(exc, Aep2Error) else f"{type(exc).__name__}: {exc}"
            failure = PayerError(f"signer {signer} failed: {detail}", reason=Reason.SIGNER_FAILED)
            kind = _Kind(self.agent if isinstance(mandate, AgentMandate) else None)
            failed = self._entry(
                request, self._clock(), FAILED, failure.reason, failure.message, mandate, kind, digest
            )
            self._append(failed)
            raise failure from exc
        return signed

    def _check_needed(self, kind: str, signer: object) -> bool:
        """Whether ``signer``'s signature must be checked: always, unless it is a key held in this
        process (exactly :class:`LocalKeySigner` or :class:`AgentKey`, not a subclass) whose first
        signature passed. Such a key signs the digest computed and logged above, with libsecp256k1 or
        gnark-crypto, and its address or public key was checked against ours when the payer was
        built: past the first signature (which proves the key and the library agree), a check could
        only catch the library mis-signing, and costs more than the signature (docs/payer.md,
        "Performance"). A signer elsewhere (a wallet, an HSM, a remote service) is checked every time."""
        return type(signer) not in _IN_PROCESS or self._proven.get(kind) is not signer

    def _passed(self, kind: str, signer: object) -> None:
        if type(signer) in _IN_PROCESS:
            self._proven[kind] = signer

    def _check_recovers(self, signed: SignedMandate, digest: bytes) -> None:
        """Raise unless ``signed`` recovers to our address from ``digest``, the digest we computed and
        logged (an external signer is held to what we decided, not to what it was shown). The key
        that first recovers to our address is remembered, so later checks compare keys, not hashes."""
        key = recover_public_key(digest, signed.signature).format(compressed=False)
        if key == self._account_key:
            return
        signer = address_of(PublicKey(key))
        if signer != bytes.fromhex(self.address[2:]):
            raise SignatureError(
                f"signed by {checksum('0x' + signer.hex())}, not by the payer {self.address}",
                reason=Reason.SIGNER_MISMATCH,
            )
        self._account_key = key

    def _ask(self, request: PaymentRequest) -> bool:
        assert self._approve is not None
        try:
            return self._approve(request) is True
        except Exception:  # an approver that crashes has not approved
            return False

    # -- audit ---------------------------------------------------------------

    def _entry(
        self, request: PaymentRequest, now: float, decision: str, reason: str, message: str,
        mandate: Mandate | AgentMandate | None = None, kind: _Kind | None = None, digest: bytes | None = None,
    ) -> AuditEntry:  # fmt: skip
        return AuditEntry(**self._fields(request, now, decision, reason, message, mandate, kind, digest))

    def _fields(
        self, request: PaymentRequest, now: float, decision: str, reason: str, message: str,
        mandate: Mandate | AgentMandate | None = None, kind: _Kind | None = None, digest: bytes | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """An audit entry's fields (:meth:`AuditEntry.row_of` writes them without building the entry)."""
        return dict(
            at=now, decision=decision, reason=str(reason), message=message, payer=self.address,
            payee=request.payee, token=request.token, amount=request.amount, chain_id=request.chain_id,
            escrow=request.escrow, nonce=None if mandate is None else mandate.nonce,
            deadline=None if mandate is None else mandate.deadline, ref="0x" + request.ref.hex(),
            digest=None if digest is None else "0x" + digest.hex(), resource=request.resource,
            kind=None if kind is None else kind.name,
            key_id=None if kind is None or kind.agent is None else kind.agent.key_id,
        )  # fmt: skip

    def record_refusal(self, signed: AnySigned, reason: str) -> None:
        """Log that the payee refused ``signed`` (with its ``reason`` code), for the owner to see.

        Its amount keeps counting against the policy's limits: a payer cannot check a refusal,
        and a payee that kept the mandate could still settle it until its deadline.
        """
        m, d = signed.mandate, signed.domain
        key_id = m.key_id if isinstance(m, AgentMandate) else None
        entry = AuditEntry(
            at=self._clock(), decision=REFUSED, reason=str(reason)[:100], message=f"payee refused: {reason}",
            payer=m.payer if isinstance(m, Mandate) else self.address, payee=m.payee, token=m.token,
            amount=m.amount, chain_id=d.chain_id, escrow=d.escrow, nonce=m.nonce, deadline=m.deadline,
            ref="0x" + m.ref.hex(), digest="0x" + signed.digest.hex(),
            kind=KIND_EIP712 if key_id is None else KIND_AGENT, key_id=key_id,
        )  # fmt: skip
        self._append(entry)

    def _record_rejection(self, request: PaymentRequest, exc: PayerError) -> None:
        self._append(self._entry(request, self._clock(), REJECTED, exc.reason, exc.message))

    def _append(self, entry: AuditEntry) -> None:
        self._journal.record(entry)

    def close(self) -> None:
        """Release the database connections; the last payer of this process on its database gives
        back what the process reserved and did not use (the rest of each nonce block, each lease's
        unspent budget)."""
        _journal.detach(self._journal, self._clock)
        self.engine.dispose()

    def __enter__(self) -> Payer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
