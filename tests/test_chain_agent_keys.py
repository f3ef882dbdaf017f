"""Agent keys on a real anvil through ``aep2.chain``: grants signed in Python, the registry's rules
(replay, revocation and cap lowering after ``revokeDelay``), agent settlements through the attestation
stand-in, and the agent public input packed in Python equal to the escrow's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from aep2.agentkey import ANY_PAYEE, AgentKeyGrant, AgentMandate
from aep2.chain import (
    AGENT_PAIR_BYTES,
    SNARK_SCALAR_FIELD,
    AgentPair,
    AgentSettlement,
    EscrowClient,
    InvalidSettlement,
    Pair,
    SkipReason,
    TransactionFailed,
    VerifierFamily,
    agent_pair_settlements,
    agent_settlement_public_input,
    attestation_verifier,
    build_agent_settlement,
    deploy_stack,
    packed_agent_settlement,
    sign_grant,
    unsafe_attestation_proof,
)
from aep2.chain.agent_settlement import NO_KEY
from aep2.devnet import Anvil
from aep2.mandate import checksum
from tests.test_escrow_integration import World

BATCH_ID, AGENT_ID = 1, 2
DELAY, REVOKE_DELAY = 3600, 2 * 3600
# Compressed keys from tests/vectors/agent_mandates.json: B, -B, 2B (the escrow does not decompress).
KEY_B = bytes.fromhex("8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f703727925")
KEY_MINUS_B = bytes.fromhex("8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f7037279a5")
KEY_2B = bytes.fromhex("53686d2b4005178e1843106f2992a867a01d8a84afbe9e8bda300abfaf6c6601")
SEPARATOR = bytes(range(32))
TOKEN = checksum("0x" + "70" * 20)
PAYEE = checksum("0x" + "e3" * 20)
OTHER = checksum("0x" + "b0" * 20)


# -- packing, offline ----------------------------------------------------------------------------

# Pinned in contracts/test/AgentHashing.t.sol too; the agent circuit must reproduce it.
PINNED_AGENT_PUBLIC_INPUT = 0x23637B4379249FC42942224DECA7A56351AB776C666008AB6E97F4C7E3560406


def _pinned() -> AgentSettlement:
    pairs = (
        AgentPair(1, PAYEE, 1, 2, 3),
        AgentPair(2**64 - 1, PAYEE, 4, 5, 2**128 - 1),
        AgentPair(9, OTHER, 0, 1, 1),
    )
    return AgentSettlement(7, TOKEN, 0x0102030405060708, pairs)


def test_agent_public_input_matches_pinned_vector() -> None:
    keys = {1: KEY_B, 2**64 - 1: KEY_2B}  # key 9 is unknown: it packs as zeros
    assert agent_settlement_public_input(SEPARATOR, _pinned(), keys) == PINNED_AGENT_PUBLIC_INPUT


def test_packed_agent_settlement_layout_matches_pinned_spec() -> None:
    packed = packed_agent_settlement(SEPARATOR, _pinned(), {1: KEY_B, 2**64 - 1: KEY_2B})
    assert len(packed) == 64 + AGENT_PAIR_BYTES * 3
    assert packed[:32] == SEPARATOR
    assert packed[32:36] == (7).to_bytes(4, "big")
    assert packed[36:56] == bytes.fromhex(TOKEN[2:])
    assert packed[56:64] == bytes.fromhex("0102030405060708")
    second = packed[64 + 92 : 64 + 184]
    assert second[:8] == (2**64 - 1).to_bytes(8, "big")
    assert second[8:40] == KEY_2B
    assert second[40:60] == bytes.fromhex(PAYEE[2:])
    assert second[60:68] == (4).to_bytes(8, "big")
    assert second[68:76] == (5).to_bytes(8, "big")
    assert second[76:92] == (2**128 - 1).to_bytes(16, "big")
    assert packed[64 + 184 + 8 : 64 + 184 + 40] == NO_KEY
    digest = int.from_bytes(keccak(packed), "big")
    assert (
        agent_settlement_public_input(SEPARATOR, _pinned(), {1: KEY_B, 2**64 - 1: KEY_2B})
        == digest % SNARK_SCALAR_FIELD
    )


@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("key_id", lambda: AgentPair(2**64, PAYEE, 0, 1, 1)),
        ("payee", lambda: AgentPair(1, PAYEE.lower(), 0, 1, 1)),
        ("to_nonce", lambda: AgentPair(1, PAYEE, 0, -1, 1)),
        ("total", lambda: AgentPair(1, PAYEE, 0, 1, 2**128)),
        ("verifier_id", lambda: AgentSettlement(2**32, TOKEN, 0, ())),
    ],
)
def test_agent_settlement_rejects_out_of_range_fields(field: str, make: object) -> None:
    with pytest.raises(InvalidSettlement) as caught:
        make()  # type: ignore[operator]
    assert caught.value.context["field"] == field


def test_packing_rejects_a_key_that_is_not_32_bytes() -> None:
    with pytest.raises(InvalidSettlement, match="32 bytes"):
        packed_agent_settlement(SEPARATOR, _pinned(), {1: KEY_B[:31]})


def _mandate(
    key_id: int, nonce: int, amount: int, deadline: int = 2_000_000_000, payee: str = PAYEE
) -> AgentMandate:
    return AgentMandate.build(
        key_id=key_id, payee=payee, token=TOKEN, amount=amount, nonce=nonce, deadline=deadline, ref=bytes(32)
    )


def test_build_agent_settlement_groups_pairs_from_high_water() -> None:
    mandates = [
        _mandate(9, 4, 5, 1_900_000_000),
        _mandate(3, 3, 1),
        _mandate(3, 5, 2),
        _mandate(3, 1, 7, payee=OTHER),
    ]
    s = build_agent_settlement(AGENT_ID, TOKEN, mandates, {(3, PAYEE): 2})
    pairs = (AgentPair(3, OTHER, 0, 1, 7), AgentPair(3, PAYEE, 2, 5, 3), AgentPair(9, PAYEE, 0, 4, 5))
    assert s == AgentSettlement(AGENT_ID, TOKEN, 1_900_000_000, pairs)


@pytest.mark.parametrize(
    ("mandates", "from_nonces"),
    [([_mandate(1, 2, 1)], {(1, PAYEE): 2}), ([_mandate(1, 3, 1), _mandate(1, 3, 1)], {}), ([], {})],
)
def test_build_agent_settlement_rejects_unsettleable_mandates(
    mandates: list[AgentMandate], from_nonces: dict[tuple[int, str], int]
) -> None:
    with pytest.raises(InvalidSettlement):
        build_agent_settlement(AGENT_ID, TOKEN, mandates, from_nonces)


# -- on anvil ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentWorld:
    """An escrow with one verifier of each family (attestation stand-ins) and a funded payer."""

    world: World
    payer_key: bytes

    @property
    def escrow(self) -> EscrowClient:
        return self.world.escrow

    @property
    def payer(self) -> str:
        return self.world.address(self.payer_key)

    def grant(
        self, key: bytes = KEY_B, payee: str = ANY_PAYEE, cap: int = 1_000_000, salt: int = 0
    ) -> AgentKeyGrant:
        now = self.world.now()
        return AgentKeyGrant.build(
            payer=self.payer,
            key=key,
            token=self.world.token.address,
            payee=payee,
            cap=cap,
            valid_after=now - 60,
            valid_until=now + 30 * 86400,
            salt=salt,
        )

    def authorize(self, grant: AgentKeyGrant) -> int:
        signature = sign_grant(grant, self.escrow.domain(), self.payer_key)
        return self.escrow.authorize_agent_key(grant, signature, self.world.keys[3])  # any relayer

    def settlement(self, *pairs: AgentPair) -> AgentSettlement:
        return AgentSettlement(AGENT_ID, self.world.token.address, self.world.now() + 3600, pairs)

    def prove(self, settlement: AgentSettlement) -> bytes:
        """The stand-in's proof over the public input packed here, with the keys the escrow stores."""
        keys = {k: info.key for k in settlement.key_ids if (info := self.escrow.agent_key(k)) is not None}
        public_input = agent_settlement_public_input(self.escrow.domain_separator(), settlement, keys)
        assert public_input == self.escrow.agent_public_input_of(settlement)
        verifier = self.world.stack.verifiers[AGENT_ID]
        return unsafe_attestation_proof(
            self.world.attester, verifier, self.world.w3.eth.chain_id, public_input
        )


@pytest.fixture(scope="module")
def aw() -> Iterator[AgentWorld]:
    # A private chain: these tests move its clock.
    with Anvil() as chain:
        w3 = Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 30}))
        owner, attester, *keys = chain.private_keys
        attester_address = Account.from_key(attester).address
        specs = [
            attestation_verifier(BATCH_ID, 16, 8, attester_address),
            attestation_verifier(AGENT_ID, 16, 8, attester_address, family=VerifierFamily.AGENT),
        ]
        stack = deploy_stack(w3, owner, verifiers=specs, withdraw_delay=DELAY, revoke_delay=REVOKE_DELAY)
        world = World(w3, stack, stack.escrow_client(w3), stack.token_client(w3), owner, attester, keys)
        payer_key = keys[4]
        world.fund(payer_key, 10_000_000)
        yield AgentWorld(world, payer_key)


def _payee(aw: AgentWorld) -> tuple[str, bytes]:
    """A fresh payee with gas money; it settles its own pairs."""
    account = Account.create()
    tx = {"from": aw.world.address(aw.world.owner), "to": account.address, "value": 10**17}
    aw.world.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
    return str(account.address), bytes(account.key)


def test_deploy_registers_families_and_revoke_delay(aw: AgentWorld) -> None:
    assert aw.escrow.revoke_delay() == REVOKE_DELAY
    agent = aw.escrow.verifier_info(AGENT_ID)
    batch = aw.escrow.verifier_info(BATCH_ID)
    assert agent is not None and agent.family is VerifierFamily.AGENT
    assert batch is not None and batch.family is VerifierFamily.BATCH


def test_authorize_agent_key_with_python_signed_grant(aw: AgentWorld) -> None:
    payee, _ = _payee(aw)
    grant = aw.grant(payee=payee, cap=5_000, salt=1)
    assert aw.escrow.agent_key_grant_digest(grant) == grant.digest(aw.escrow.domain())
    key_id = aw.authorize(grant)
    assert aw.escrow.agent_key_count() >= key_id >= 1
    assert aw.escrow.agent_key_id_of(grant.digest(aw.escrow.domain())) == key_id
    info = aw.escrow.agent_key(key_id)
    assert info is not None
    assert (info.key, info.payer, info.token, info.payee) == (KEY_B, aw.payer, grant.token, payee)
    assert (info.cap, info.spent, info.valid_after, info.valid_until) == (
        5_000,
        0,
        grant.valid_after,
        grant.valid_until,
    )
    assert (info.revoke_at, info.pending_cap, info.pending_cap_at) == (0, 0, 0)
    assert not info.any_payee and info.remaining == 5_000
    assert aw.escrow.agent_key(10**6) is None


def test_authorize_agent_key_replay_is_refused_with_decoded_error(aw: AgentWorld) -> None:
    grant = aw.grant(salt=2)
    key_id = aw.authorize(grant)
    with pytest.raises(TransactionFailed, match="already registered as agent key") as caught:
        aw.authorize(grant)
    assert caught.value.context["error"] == "AgentKeyGrantUsed"
    assert caught.value.context["args"] == (grant.digest(aw.escrow.domain()), key_id)


def test_authorize_agent_key_refuses_another_signer(aw: AgentWorld) -> None:
    grant = aw.grant(salt=3)
    signature = sign_grant(grant, aw.escrow.domain(), aw.world.keys[5])
    with pytest.raises(TransactionFailed, match=r"is not .*'s over 0x") as caught:
        aw.escrow.authorize_agent_key(grant, signature, aw.world.keys[3])
    assert caught.value.context["error"] == "InvalidAgentKeySignature"


def test_authorize_agent_key_refuses_small_order_key(aw: AgentWorld) -> None:
    identity = (1).to_bytes(32, "little")
    grant = aw.grant(key=identity, salt=4)
    with pytest.raises(TransactionFailed, match="small order") as caught:
        aw.authorize(grant)
    assert caught.value.context["error"] == "InvalidAgentKey"


def test_revoke_agent_key_takes_effect_after_delay(aw: AgentWorld) -> None:
    payee, payee_key = _payee(aw)
    key_id = aw.authorize(aw.grant(payee=payee, salt=5))
    with pytest.raises(TransactionFailed, match="may not revoke") as caught:
        aw.escrow.revoke_agent_key(key_id, payee_key)
    assert caught.value.context["error"] == "NotAgentKeyPayer"
    revoke_at = aw.escrow.revoke_agent_key(key_id, aw.payer_key)
    assert revoke_at == aw.world.now() + REVOKE_DELAY
    info = aw.escrow.agent_key(key_id)
    assert info is not None and info.revoke_at == revoke_at and info.settles_at(revoke_at - 1)

    before = aw.settlement(AgentPair(key_id, payee, 0, 2, 300))
    paid = aw.escrow.submit_agent_settlement(aw.prove(before), before, payee_key)
    assert [(p.key_id, p.payer, p.total) for p in paid.agent_settled] == [(key_id, aw.payer, 300)]

    aw.world.warp(REVOKE_DELAY)
    after = aw.settlement(AgentPair(key_id, payee, 2, 3, 1))
    skipped = aw.escrow.submit_agent_settlement(aw.prove(after), after, payee_key)
    assert [p.reason for p in skipped.agent_skipped] == [SkipReason.AGENT_KEY_REVOKED]
    assert aw.escrow.agent_high_water(key_id, payee) == 2
    with pytest.raises(TransactionFailed, match="already revoked"):
        aw.escrow.revoke_agent_key(key_id, aw.payer_key)


def test_lower_agent_key_cap_takes_effect_after_delay(aw: AgentWorld) -> None:
    key_id = aw.authorize(aw.grant(cap=1_000, salt=6))
    effective_at = aw.escrow.lower_agent_key_cap(key_id, 400, aw.payer_key)
    info = aw.escrow.agent_key(key_id)
    assert info is not None
    assert (info.cap, info.pending_cap, info.pending_cap_at) == (1_000, 400, effective_at)
    assert info.cap_at(effective_at - 1) == 1_000 and info.cap_at(effective_at) == 400
    with pytest.raises(TransactionFailed, match="raising a cap takes a new grant") as caught:
        aw.escrow.lower_agent_key_cap(key_id, 1_000, aw.payer_key)
    assert caught.value.context["error"] == "AgentKeyCapNotLowered"
    aw.world.warp(REVOKE_DELAY)
    lowered = aw.escrow.agent_key(key_id)
    assert lowered is not None and (lowered.cap, lowered.pending_cap_at) == (400, 0)


def test_agent_settlement_pays_and_skips_for_cap(aw: AgentWorld) -> None:
    payee, payee_key = _payee(aw)
    key_id = aw.authorize(aw.grant(payee=payee, cap=1_000, salt=7))
    free = aw.escrow.balance(aw.payer, aw.world.token.address)

    first = aw.settlement(AgentPair(key_id, payee, 0, 3, 700))
    result = aw.escrow.submit_agent_settlement(aw.prove(first), first, payee_key)
    assert [(p.from_nonce, p.to_nonce, p.total) for p in result.agent_settled] == [(0, 3, 700)]
    assert [(p.verifier_id, p.settled, p.amount) for p in result.processed] == [(AGENT_ID, 1, 700)]

    over = aw.settlement(AgentPair(key_id, payee, 3, 4, 301))
    result = aw.escrow.submit_agent_settlement(aw.prove(over), over, payee_key)
    assert [(p.key_id, p.reason) for p in result.agent_skipped] == [
        (key_id, SkipReason.AGENT_KEY_CAP_EXCEEDED)
    ]
    info = aw.escrow.agent_key(key_id)
    assert info is not None and info.spent == 700
    assert aw.escrow.balance(aw.payer, aw.world.token.address) == free - 700
    assert aw.escrow.payee_balance(payee, aw.world.token.address) == 700
    assert aw.escrow.agent_high_water(key_id, payee) == 3
    logged = agent_pair_settlements(aw.escrow.contract, key_id, payee)
    assert [(p.from_nonce, p.to_nonce, p.total) for p in logged] == [(0, 3, 700)]


def test_agent_settlement_skips_payee_outside_scope(aw: AgentWorld) -> None:
    payee, _ = _payee(aw)
    stranger, stranger_key = _payee(aw)
    key_id = aw.authorize(aw.grant(payee=payee, salt=8))
    s = aw.settlement(AgentPair(key_id, stranger, 0, 1, 1))
    result = aw.escrow.submit_agent_settlement(aw.prove(s), s, stranger_key)
    assert [p.reason for p in result.agent_skipped] == [SkipReason.PAYEE_OUT_OF_SCOPE]


def test_settle_many_carries_both_families(aw: AgentWorld) -> None:
    payee, payee_key = _payee(aw)
    key_id = aw.authorize(aw.grant(key=KEY_MINUS_B, payee=payee, salt=9))
    batch = aw.world.settlement(Pair.build(aw.payer, payee, 0, 1, 11))
    agent = [
        aw.settlement(AgentPair(key_id, payee, 0, 2, 20)),
        aw.settlement(AgentPair(key_id, payee, 2, 5, 30)),
    ]
    result = aw.escrow.submit_many(
        [aw.world.prove(batch)],
        [batch],
        payee_key,
        agent_proofs=[aw.prove(s) for s in agent],
        agent_settlements=agent,
    )
    assert [p.total for p in result.settled] == [11]
    assert [(p.from_nonce, p.to_nonce) for p in result.agent_settled] == [(0, 2), (2, 5)]
    assert [p.verifier_id for p in result.processed] == [BATCH_ID, AGENT_ID, AGENT_ID]
    assert aw.escrow.payee_balance(payee, aw.world.token.address) == 61


def test_agent_settlement_on_batch_verifier_is_refused(aw: AgentWorld) -> None:
    payee, payee_key = _payee(aw)
    key_id = aw.authorize(aw.grant(payee=payee, salt=10))
    s = replace(aw.settlement(AgentPair(key_id, payee, 0, 1, 1)), verifier_id=BATCH_ID)
    with pytest.raises(TransactionFailed, match=r"proves batch .* settlements, not agent ones") as caught:
        aw.escrow.submit_agent_settlement(b"", s, payee_key)
    assert caught.value.context["error"] == "VerifierFamilyMismatch"


def _agent_pairs(key_ids: list[int]) -> st.SearchStrategy[AgentPair]:
    addresses = st.binary(min_size=20, max_size=20).map(lambda b: checksum("0x" + b.hex()))
    return st.builds(
        AgentPair,
        key_id=st.sampled_from(key_ids),
        payee=addresses,
        from_nonce=st.integers(0, 2**64 - 1),
        to_nonce=st.integers(0, 2**64 - 1),
        total=st.integers(0, 2**128 - 1),
    )


@pytest.fixture(scope="module")
def known_keys(aw: AgentWorld) -> dict[int, bytes]:
    ids = [aw.authorize(aw.grant(key=k, salt=100 + i)) for i, k in enumerate((KEY_B, KEY_2B))]
    return dict(zip(ids, (KEY_B, KEY_2B), strict=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_agent_public_input_matches_contract(
    aw: AgentWorld, known_keys: dict[int, bytes], data: st.DataObject
) -> None:
    ids = [*known_keys, 0, 2**64 - 1]  # 0 and 2^64 - 1 are never registered: zero keys
    pairs = data.draw(st.lists(_agent_pairs(ids), max_size=9).map(tuple))
    token = data.draw(st.binary(min_size=20, max_size=20).map(lambda b: checksum("0x" + b.hex())))
    s = AgentSettlement(
        data.draw(st.integers(0, 2**32 - 1)), token, data.draw(st.integers(0, 2**64 - 1)), pairs
    )
    expected = agent_settlement_public_input(aw.escrow.domain_separator(), s, known_keys)
    assert aw.escrow.agent_public_input_of(s) == expected
