"""The escrow, the token and the Python bindings together on a real anvil.

Settlements are proven by the ``AttestationVerifier`` stand-in (a key's signature over the exact
public input), so everything but the Groth16 pairing is exercised. When ``aep2-prover`` lands, the
real loop swaps :func:`_prove` for a prover call and ``attestation_verifier`` for a ``VerifierSpec``
of the exported verifier; the settlements, mandates and assertions stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from eth_account import Account
from web3 import Web3

from aep2.chain import (
    AuthorizationKind,
    EscrowClient,
    Pair,
    Settlement,
    SkipReason,
    Stack,
    TokenClient,
    TransactionFailed,
    attestation_verifier,
    build_settlement,
    deploy_stack,
    unsafe_attestation_proof,
)
from aep2.devnet import Anvil
from aep2.mandate import Mandate

VERIFIER_ID = 1
DELAY = 3600


@dataclass(frozen=True)
class World:
    w3: Web3
    stack: Stack
    escrow: EscrowClient
    token: TokenClient
    owner: bytes
    attester: bytes
    keys: Sequence[bytes]

    def address(self, key: bytes) -> str:
        return str(Account.from_key(key).address)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def fund(self, key: bytes, amount: int) -> None:
        self.token.mint(self.address(key), amount, key)
        self.token.approve(self.escrow.address, amount, key)
        self.escrow.deposit(self.token.address, amount, key)

    def new_payee(self) -> str:
        """A payee with gas money that approved ``keys[0]``, the settlement service these tests use."""
        account = Account.create()
        tx = {"from": self.address(self.owner), "to": account.address, "value": 10**17}
        self.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
        self.escrow.approve_submitter(self.address(self.keys[0]), True, bytes(account.key))
        return str(account.address)

    def prove(self, settlement: Settlement) -> bytes:
        public_input = self.escrow.public_input_of(settlement)
        verifier = self.stack.verifiers[settlement.verifier_id]
        return unsafe_attestation_proof(self.attester, verifier, self.w3.eth.chain_id, public_input)

    def settlement(self, *pairs: Pair) -> Settlement:
        return Settlement(VERIFIER_ID, self.token.address, self.now() + 3600, pairs)

    def warp(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # A private chain: these tests move its clock, which must not leak into other modules' anvil.
    with Anvil() as chain:
        w3 = Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 30}))
        owner, attester, *keys = chain.private_keys
        spec = attestation_verifier(VERIFIER_ID, 16, 8, Account.from_key(attester).address)
        stack = deploy_stack(w3, owner, verifiers=[spec], withdraw_delay=DELAY)
        yield World(w3, stack, stack.escrow_client(w3), stack.token_client(w3), owner, attester, keys)


@pytest.fixture
def payer(world: World) -> bytes:
    """A fresh funded-with-gas account per test, so balances and nonces start from zero."""
    account = Account.create()
    world.w3.eth.send_transaction(
        {"from": world.address(world.owner), "to": account.address, "value": 10**18}  # type: ignore[typeddict-item]
    )
    return bytes(account.key)


def test_deploy_stack_registers_verifier(world: World) -> None:
    info = world.escrow.verifier_info(VERIFIER_ID)
    assert info is not None
    assert (info.verifier, info.mandate_slots, info.pair_slots, info.retired) == (
        world.stack.verifiers[VERIFIER_ID],
        16,
        8,
        False,
    )
    assert world.escrow.verifier_info(99) is None
    assert world.escrow.withdraw_delay() == DELAY
    assert world.escrow.owner() == world.stack.owner
    assert world.escrow.domain_separator() == world.escrow.domain().separator


def test_deposit_credits_payer(world: World, payer: bytes) -> None:
    world.fund(payer, 5_000_000)
    assert world.escrow.balance(world.address(payer), world.token.address) == 5_000_000


def test_deposit_with_authorization_relayed(world: World, payer: bytes) -> None:
    world.token.mint(world.address(payer), 7_000_000, payer)
    auth = world.token.sign_authorization(
        AuthorizationKind.RECEIVE, payer, world.escrow.address, 7_000_000, valid_before=world.now() + 600
    )
    relayer = world.keys[0]
    world.escrow.deposit_with_authorization(world.token.address, auth, relayer)
    assert world.escrow.balance(world.address(payer), world.token.address) == 7_000_000
    assert world.token.authorization_state(world.address(payer), auth.nonce)
    with pytest.raises(TransactionFailed) as caught:
        world.escrow.deposit_with_authorization(world.token.address, auth, relayer)
    assert caught.value.context["error"] == "AuthorizationUsedOrCanceled"


def test_deposit_without_allowance_names_the_error(world: World, payer: bytes) -> None:
    with pytest.raises(TransactionFailed) as caught:
        world.escrow.deposit(world.token.address, 1, payer)
    assert caught.value.context["error"] == "ERC20InsufficientAllowance"


def test_withdraw_after_delay(world: World, payer: bytes) -> None:
    token, me = world.token.address, world.address(payer)
    world.fund(payer, 1_000)
    world.escrow.request_withdraw(token, 600, payer)
    pending = world.escrow.pending_withdrawal(me, token)
    assert pending.amount == 600
    assert pending.ready_at == world.now() + DELAY
    assert world.escrow.balance(me, token) == 1_000
    with pytest.raises(TransactionFailed) as caught:
        world.escrow.execute_withdraw(token, payer)
    assert caught.value.context["error"] == "WithdrawalNotReady"
    world.warp(DELAY)
    world.escrow.execute_withdraw(token, payer)
    assert world.token.balance_of(me) == 600
    assert world.escrow.balance(me, token) == 400
    assert world.escrow.pending_withdrawal(me, token).amount == 0


def test_withdraw_pays_only_what_settlement_left(world: World, payer: bytes) -> None:
    token, me, payee = world.token.address, world.address(payer), world.new_payee()
    world.fund(payer, 1_000)
    world.escrow.request_withdraw(token, 1_000, payer)
    s = world.settlement(Pair(me, payee, 0, 3, 700))
    result = world.escrow.submit_settlement(world.prove(s), s, world.keys[0])
    assert [p.total for p in result.settled] == [700]
    world.warp(DELAY)
    world.escrow.execute_withdraw(token, payer)
    assert world.token.balance_of(me) == 300
    assert world.escrow.balance(me, token) == 0


def test_settle_pays_and_skips_with_typed_results(world: World, payer: bytes) -> None:
    poor = Account.create().address
    me, payee = world.address(payer), world.new_payee()
    world.fund(payer, 1_000)
    s = world.settlement(Pair(me, payee, 0, 4, 250), Pair(poor, payee, 0, 1, 1))
    result = world.escrow.submit_settlement(world.prove(s), s, world.keys[0])
    assert [(p.payer, p.to_nonce, p.total) for p in result.settled] == [(me, 4, 250)]
    assert [(p.payer, p.reason) for p in result.skipped] == [(poor, SkipReason.INSUFFICIENT_BALANCE)]
    (processed,) = result.processed
    assert (processed.settled, processed.skipped, processed.amount) == (1, 1, 250)
    assert processed.public_input == world.escrow.public_input_of(s)
    assert world.escrow.high_water(me, payee) == 4
    assert world.escrow.payee_balance(payee, world.token.address) == 250

    again = world.escrow.submit_settlement(world.prove(s), s, world.keys[0])
    assert again.settled == ()
    assert [p.reason for p in again.skipped] == [SkipReason.NONCE_MISMATCH, SkipReason.INSUFFICIENT_BALANCE]


def test_submit_many_chains_chunks(world: World, payer: bytes) -> None:
    me, payee = world.address(payer), world.new_payee()
    world.fund(payer, 1_000)
    chunks = [world.settlement(Pair(me, payee, 0, 8, 100)), world.settlement(Pair(me, payee, 8, 9, 5))]
    result = world.escrow.submit_many([world.prove(c) for c in chunks], chunks, world.keys[0])
    assert [(p.from_nonce, p.to_nonce) for p in result.settled] == [(0, 8), (8, 9)]
    assert len(result.processed) == 2
    assert world.escrow.high_water(me, payee) == 9


def test_settle_rejects_invalid_proof(world: World, payer: bytes) -> None:
    me = world.address(payer)
    world.fund(payer, 10)
    s = world.settlement(Pair(me, Account.create().address, 0, 1, 10))
    forged = unsafe_attestation_proof(payer, world.stack.verifiers[VERIFIER_ID], world.w3.eth.chain_id, 1)
    with pytest.raises(TransactionFailed) as caught:
        world.escrow.submit_settlement(forged, s, world.keys[0])
    assert (caught.value.context["error"], caught.value.context["args"]) == ("InvalidProof", (VERIFIER_ID,))
    assert world.escrow.balance(me, world.token.address) == 10


def test_settle_rejects_expired_batch(world: World, payer: bytes) -> None:
    s = Settlement(
        VERIFIER_ID, world.token.address, world.now() - 1, (Pair(world.address(payer), payer_of(1), 0, 1, 1),)
    )
    with pytest.raises(TransactionFailed) as caught:
        world.escrow.submit_settlement(world.prove(s), s, world.keys[0])
    assert caught.value.context["error"] == "SettlementExpired"


def test_payee_withdraws_credit(world: World, payer: bytes) -> None:
    payee_key = world.keys[1]
    payee = world.address(payee_key)
    world.fund(payer, 500)
    before = world.escrow.payee_balance(payee, world.token.address)
    s = world.settlement(Pair(world.address(payer), payee, 0, 1, 500))
    world.escrow.submit_settlement(world.prove(s), s, payee_key)  # the payee settles its own pair
    treasury = Account.create().address
    world.escrow.withdraw_payee(world.token.address, before + 500, treasury, payee_key)
    assert world.token.balance_of(treasury) == before + 500
    assert world.escrow.payee_balance(payee, world.token.address) == 0


def test_signed_mandates_settle_end_to_end(world: World, payer: bytes) -> None:
    """Mandates signed under the escrow's domain → settlement → proof → settle, as the pipeline does."""
    me, payee = world.address(payer), world.address(world.keys[2])
    world.fund(payer, 10_000)
    domain = world.escrow.domain()
    deadline = world.now() + 7200
    signed = [
        Mandate.build(
            payer=me, payee=payee, token=world.token.address, amount=100 * n, nonce=n, deadline=deadline,
            ref=bytes(32),
        ).sign(domain, payer)
        for n in (1, 2, 5)
    ]  # fmt: skip
    for s in signed:
        s.verify()
    start = world.escrow.high_water(me, payee)
    settlement = build_settlement(
        VERIFIER_ID, world.token.address, [s.mandate for s in signed], {(me, payee): start}
    )
    result = world.escrow.submit_settlement(world.prove(settlement), settlement, world.keys[2])
    assert [(p.from_nonce, p.to_nonce, p.total) for p in result.settled] == [(0, 5, 800)]
    assert world.escrow.balance(me, world.token.address) == 9_200


def test_retired_verifier_rejects_settlements(world: World) -> None:
    specs = [attestation_verifier(v, 2, 1, world.address(world.attester)) for v in (77, 78)]
    stack = deploy_stack(world.w3, world.owner, verifiers=specs, token=world.token.address)
    escrow = stack.escrow_client(world.w3)
    escrow.retire_verifier(77, world.owner)
    info = escrow.verifier_info(77)
    assert info is not None and info.retired
    with pytest.raises(TransactionFailed) as caught:
        escrow.register_verifier(77, stack.verifiers[77], 2, 1, world.owner)
    assert caught.value.context["error"] == "VerifierAlreadyRegistered"
    with pytest.raises(TransactionFailed) as last:  # accepted mandates always keep a size to settle at
        escrow.retire_verifier(78, world.owner)
    assert last.value.context["error"] == "LastActiveVerifier"


def payer_of(n: int) -> str:
    return str(Account.from_key(n.to_bytes(32, "big")).address)
