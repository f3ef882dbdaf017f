"""Typed reads and transactions of a deployed aep2 escrow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from aep2.agentkey import AgentKeyGrant
from aep2.chain.agent_keys import AgentKeyInfo
from aep2.chain.agent_settlement import AgentSettlement
from aep2.chain.artifacts import load_artifact
from aep2.chain.events import (
    SettlementResult,
    parse_agent_key_authorized,
    parse_effective_at,
    parse_settlement,
)
from aep2.chain.reverts import simulate
from aep2.chain.settlement import Settlement
from aep2.chain.token import Authorization, AuthorizationKind
from aep2.chain.transactions import TransactionFailed, send
from aep2.mandate import Domain

# Gas limits for settlement transactions, from contracts/snapshots/{settle,agent}.json with headroom:
# an EIP-712 pair costs ~33k the first time (two zero-to-non-zero writes) and ~16k after; an agent
# pair ~21k, or ~46k for an any-payee key's first pair to a payee; the fixed part is ~38k of
# execution plus the 21k base and calldata. The Groth16 verifier (4 pairings, plus 2 if the circuit
# uses a commitment) is budgeted separately; the attestation stand-in needs ~10k.
SETTLE_FIXED_GAS = 90_000
SETTLE_PAIR_GAS = 45_000
SETTLE_AGENT_PAIR_GAS = 65_000
CALLDATA_GAS_PER_BYTE = 40  # EIP-7623's floor price of a non-zero calldata byte
DEFAULT_VERIFIER_GAS = 450_000


def settle_gas_limit(
    settlements: Sequence[Settlement | AgentSettlement],
    proofs: Sequence[bytes],
    *,
    verifier_gas: int = DEFAULT_VERIFIER_GAS,
) -> int:
    """An upper bound on the gas of settling ``settlements`` (of either family) in one transaction."""
    pairs = sum(
        len(s.pairs) * (SETTLE_AGENT_PAIR_GAS if isinstance(s, AgentSettlement) else SETTLE_PAIR_GAS)
        for s in settlements
    )
    calldata = sum(len(p) + 64 for p in proofs) + sum(160 * len(s.pairs) + 160 for s in settlements)
    return SETTLE_FIXED_GAS + len(settlements) * verifier_gas + pairs + calldata * CALLDATA_GAS_PER_BYTE


@lru_cache(maxsize=1)
def _errors_abi() -> list[dict[str, Any]]:
    # Errors that bubble up from the token (allowance, EIP-3009) decode too.
    return [*load_artifact("Escrow").abi, *load_artifact("TestUSDC").abi]


@dataclass(frozen=True)
class PendingWithdrawal:
    amount: int
    ready_at: int


@dataclass(frozen=True)
class PendingRelease:
    """A requested release of a reservation back to the free balance (debitable until executed)."""

    amount: int
    ready_at: int


class VerifierFamily(IntEnum):
    """``IEscrow.VerifierFamily``: what a verifier proves. Each verifier is registered for one."""

    BATCH = 0  # EIP-712 mandates: ``settle``, :class:`~aep2.chain.settlement.Settlement`
    AGENT = 1  # agent mandates: ``settleAgent``, :class:`~aep2.chain.agent_settlement.AgentSettlement`


@dataclass(frozen=True)
class VerifierInfo:
    """A registered verifier; it settles only from ``active_at`` (at once for the constructor's, two
    ``withdrawDelay`` after registration for the owner's), and only settlements of its ``family``."""

    verifier: str
    mandate_slots: int
    pair_slots: int
    active_at: int
    retired: bool
    family: VerifierFamily

    def usable(self, now: int) -> bool:
        return not self.retired and now >= self.active_at


@dataclass(frozen=True)
class EscrowClient:
    """One escrow on one chain. Writes take the sender's key; reads are plain ``eth_call``s."""

    w3: Web3
    contract: Contract

    @classmethod
    def at(cls, w3: Web3, address: str) -> EscrowClient:
        abi = load_artifact("Escrow").abi
        return cls(w3, w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi))

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # -- reads ------------------------------------------------------------------------------

    def domain(self) -> Domain:
        """The mandates' EIP-712 domain for this escrow."""
        return Domain(chain_id=self.w3.eth.chain_id, escrow=self.address)

    def domain_separator(self) -> bytes:
        return bytes(self.contract.functions.DOMAIN_SEPARATOR().call())

    def withdraw_delay(self) -> int:
        return int(self.contract.functions.withdrawDelay().call())

    def owner(self) -> str:
        return str(self.contract.functions.owner().call())

    def balance(self, payer: str, token: str) -> int:
        """The payer's free balance (any payee's settlements debit it), pending withdrawal included:
        a requested withdrawal stays debitable until executed. Reservations are not in it."""
        return int(self.contract.functions.balance(payer, token).call())

    def pending_withdrawal(self, payer: str, token: str) -> PendingWithdrawal:
        amount, ready_at = self.contract.functions.pendingWithdrawal(payer, token).call()
        return PendingWithdrawal(int(amount), int(ready_at))

    def reservation(self, payer: str, payee: str, token: str) -> int:
        """What ``payer`` reserved for ``payee``: debitable by that payee's settlements alone, first."""
        return int(self.contract.functions.reservation(payer, payee, token).call())

    def pending_release(self, payer: str, payee: str, token: str) -> PendingRelease:
        amount, ready_at = self.contract.functions.pendingRelease(payer, payee, token).call()
        return PendingRelease(int(amount), int(ready_at))

    def is_approved_submitter(self, payee: str, submitter: str) -> bool:
        """Whether ``submitter`` may settle ``payee``'s pairs (the payee itself always may)."""
        if Web3.to_checksum_address(payee) == Web3.to_checksum_address(submitter):
            return True
        return bool(self.contract.functions.isApprovedSubmitter(payee, submitter).call())

    def high_water(self, payer: str, payee: str) -> int:
        return int(self.contract.functions.highWater(payer, payee).call())

    def payee_balance(self, payee: str, token: str) -> int:
        return int(self.contract.functions.payeeBalance(payee, token).call())

    def verifier_info(self, verifier_id: int) -> VerifierInfo | None:
        """The registration of ``verifier_id``, or None if the id is free."""
        info = self.contract.functions.verifierInfo(verifier_id).call()
        verifier, mandate_slots, pair_slots, active_at, retired, family = info
        if int(verifier, 16) == 0:
            return None
        return VerifierInfo(
            Web3.to_checksum_address(verifier),
            mandate_slots,
            pair_slots,
            int(active_at),
            bool(retired),
            VerifierFamily(family),
        )

    def public_input_of(self, settlement: Settlement) -> int:
        return int(self.contract.functions.publicInputOf(settlement.as_abi()).call())

    # -- agent keys -------------------------------------------------------------------------------

    def revoke_delay(self) -> int:
        """Seconds between an agent key's revocation (or cap lowering) and its effect."""
        return int(self.contract.functions.revokeDelay().call())

    def agent_key_count(self) -> int:
        """How many keys were registered: ids run from 1 to this."""
        return int(self.contract.functions.agentKeyCount().call())

    def agent_key(self, key_id: int) -> AgentKeyInfo | None:
        """The escrow's record of ``key_id`` as of the latest block, or None if no key has the id."""
        return AgentKeyInfo.from_abi(key_id, self.contract.functions.agentKey(key_id).call())

    def agent_high_water(self, key_id: int, payee: str) -> int:
        """The nonce of the last settled agent mandate of ``key_id`` to ``payee`` (0 before the first)."""
        return int(self.contract.functions.agentHighWater(key_id, payee).call())

    def agent_key_grant_digest(self, grant: AgentKeyGrant) -> bytes:
        """The EIP-712 digest the payer signs, as the escrow computes it."""
        return bytes(self.contract.functions.agentKeyGrantDigest(grant.as_abi()).call())

    def agent_key_id_of(self, grant_digest: bytes) -> int | None:
        """The id the grant with this digest was registered as, or None."""
        return int(self.contract.functions.agentKeyIdOf(grant_digest).call()) or None

    def agent_public_input_of(self, settlement: AgentSettlement) -> int:
        """What a proof of ``settlement`` must open to, with each pair's key as the escrow stores it."""
        return int(self.contract.functions.agentPublicInputOf(settlement.as_abi()).call())

    # -- transactions -------------------------------------------------------------------------

    def _transact(self, call: ContractFunction, private_key: bytes, gas: int | None = None) -> TxReceipt:
        """Simulate first, so a revert raises with the decoded custom error, then send."""
        sender = Account.from_key(private_key).address
        simulate(call, sender, _errors_abi())
        tx = call.build_transaction({"from": sender, **({"gas": gas} if gas is not None else {})})
        return send(self.w3, tx, private_key)

    def deposit(self, token: str, amount: int, private_key: bytes) -> TxReceipt:
        """Deposit from the key's account (which must have approved the escrow)."""
        return self._transact(self.contract.functions.deposit(token, amount), private_key)

    def deposit_with_authorization(self, token: str, auth: Authorization, private_key: bytes) -> TxReceipt:
        """Submit ``auth`` (a ``ReceiveWithAuthorization`` to this escrow) from any account."""
        if auth.kind is not AuthorizationKind.RECEIVE or auth.to != self.address:
            raise TransactionFailed(
                f"depositWithAuthorization needs a ReceiveWithAuthorization to {self.address}, "
                f"got a {auth.kind} to {auth.to}"
            )
        terms = (auth.from_, auth.value, auth.valid_after, auth.valid_before, auth.nonce)
        call = self.contract.functions.depositWithAuthorization(token, *terms, auth.v, auth.r, auth.s)
        return self._transact(call, private_key)

    def request_withdraw(self, token: str, amount: int, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.requestWithdraw(token, amount), private_key)

    def cancel_withdraw(self, token: str, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.cancelWithdraw(token), private_key)

    def execute_withdraw(self, token: str, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.executeWithdraw(token), private_key)

    def reserve(self, payee: str, token: str, amount: int, private_key: bytes) -> TxReceipt:
        """Move ``amount`` of the key's free balance into its reservation for ``payee``."""
        return self._transact(self.contract.functions.reserve(payee, token, amount), private_key)

    def request_release(self, payee: str, token: str, amount: int, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.requestRelease(payee, token, amount), private_key)

    def cancel_release(self, payee: str, token: str, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.cancelRelease(payee, token), private_key)

    def execute_release(self, payee: str, token: str, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.executeRelease(payee, token), private_key)

    def approve_submitter(self, submitter: str, approved: bool, payee_key: bytes) -> TxReceipt:
        """The key's account (a payee) lets ``submitter`` settle its pairs, or stops it."""
        return self._transact(self.contract.functions.approveSubmitter(submitter, approved), payee_key)

    def withdraw_payee(self, token: str, amount: int, to: str, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.withdrawPayee(token, amount, to), private_key)

    def register_verifier(
        self,
        verifier_id: int,
        verifier: str,
        mandate_slots: int,
        pair_slots: int,
        private_key: bytes,
        *,
        family: VerifierFamily = VerifierFamily.BATCH,
    ) -> TxReceipt:
        """The owner registers ``verifier`` for ``family``; it acts two ``withdrawDelay`` from now."""
        call = self.contract.functions.registerVerifier(
            verifier_id, int(family), verifier, mandate_slots, pair_slots
        )
        return self._transact(call, private_key)

    def retire_verifier(self, verifier_id: int, private_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.retireVerifier(verifier_id), private_key)

    def authorize_agent_key(self, grant: AgentKeyGrant, signature: bytes, private_key: bytes) -> int:
        """Register the payer-signed ``grant`` from any account; returns the new key's id.

        A refusal (a used grant, a signature that is not the payer's, a zero cap or token, an
        inverted or past validity, an unacceptable key) raises :class:`TransactionFailed` naming it.
        """
        call = self.contract.functions.authorizeAgentKey(grant.as_abi(), signature)
        (authorized,) = parse_agent_key_authorized(self.contract, self._transact(call, private_key))
        return authorized.key_id

    def revoke_agent_key(self, key_id: int, payer_key: bytes) -> int:
        """The payer revokes ``key_id``; returns when it takes effect (``revokeDelay`` from now).
        Until then the key still settles, so payees settle what they accepted."""
        receipt = self._transact(self.contract.functions.revokeAgentKey(key_id), payer_key)
        return parse_effective_at(self.contract, receipt, "AgentKeyRevoked")

    def lower_agent_key_cap(self, key_id: int, new_cap: int, payer_key: bytes) -> int:
        """The payer lowers ``key_id``'s cap to ``new_cap`` (replacing a pending lowering); returns when
        it takes effect. Raising a cap is a new grant."""
        receipt = self._transact(self.contract.functions.lowerAgentKeyCap(key_id, new_cap), payer_key)
        return parse_effective_at(self.contract, receipt, "AgentKeyCapLowered")

    def submit_settlement(
        self,
        proof: bytes,
        settlement: Settlement,
        private_key: bytes,
        *,
        verifier_gas: int = DEFAULT_VERIFIER_GAS,
        gas: int | None = None,
    ) -> SettlementResult:
        """``settle`` one proven batch with an explicit gas limit; returns what it paid and skipped."""
        call = self.contract.functions.settle(proof, settlement.as_abi())
        limit = gas if gas is not None else settle_gas_limit([settlement], [proof], verifier_gas=verifier_gas)
        return parse_settlement(self.contract, self._transact(call, private_key, limit))

    def submit_agent_settlement(
        self,
        proof: bytes,
        settlement: AgentSettlement,
        private_key: bytes,
        *,
        verifier_gas: int = DEFAULT_VERIFIER_GAS,
        gas: int | None = None,
    ) -> SettlementResult:
        """``settleAgent`` one proven batch of agent mandates; returns what it paid and skipped."""
        call = self.contract.functions.settleAgent(proof, settlement.as_abi())
        limit = gas if gas is not None else settle_gas_limit([settlement], [proof], verifier_gas=verifier_gas)
        return parse_settlement(self.contract, self._transact(call, private_key, limit))

    def submit_many(
        self,
        proofs: Sequence[bytes],
        settlements: Sequence[Settlement],
        private_key: bytes,
        *,
        agent_proofs: Sequence[bytes] = (),
        agent_settlements: Sequence[AgentSettlement] = (),
        verifier_gas: int = DEFAULT_VERIFIER_GAS,
        gas: int | None = None,
    ) -> SettlementResult:
        """``settleMany``: several proven batches in one transaction, all or nothing: the EIP-712 ones
        in order, then the agent ones in order."""
        call = self.contract.functions.settleMany(
            list(proofs),
            [s.as_abi() for s in settlements],
            list(agent_proofs),
            [s.as_abi() for s in agent_settlements],
        )
        every: list[Settlement | AgentSettlement] = [*settlements, *agent_settlements]
        limit = (
            gas
            if gas is not None
            else settle_gas_limit(every, [*proofs, *agent_proofs], verifier_gas=verifier_gas)
        )
        return parse_settlement(self.contract, self._transact(call, private_key, limit))
