"""The packed-settlement public input: its layout, and parity with the escrow's ``publicInputOf`` on anvil."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from aep2.chain import (
    SNARK_SCALAR_FIELD,
    EscrowClient,
    InvalidSettlement,
    Pair,
    Settlement,
    build_settlement,
    deploy_escrow,
    packed_settlement,
    settlement_public_input,
)
from aep2.mandate import Mandate, checksum

SEPARATOR = bytes(range(32))
ALICE = checksum("0x" + "a1" * 20)
BOB = checksum("0x" + "b0" * 20)
PAYEE = checksum("0x" + "e3" * 20)
TOKEN = checksum("0x" + "70" * 20)


def addresses() -> st.SearchStrategy[str]:
    return st.binary(min_size=20, max_size=20).map(lambda b: checksum("0x" + b.hex()))


def pairs() -> st.SearchStrategy[Pair]:
    return st.builds(
        Pair,
        payer=addresses(),
        payee=addresses(),
        from_nonce=st.integers(0, 2**64 - 1),
        to_nonce=st.integers(0, 2**64 - 1),
        total=st.integers(0, 2**128 - 1),
    )


def settlements() -> st.SearchStrategy[Settlement]:
    return st.builds(
        Settlement,
        verifier_id=st.integers(0, 2**32 - 1),
        token=addresses(),
        not_after=st.integers(0, 2**64 - 1),
        pairs=st.lists(pairs(), max_size=9).map(tuple),
    )


def test_packed_settlement_layout_matches_pinned_spec() -> None:
    s = Settlement(7, TOKEN, 0x0102030405060708, (Pair(ALICE, PAYEE, 1, 2, 3), Pair(BOB, PAYEE, 4, 5, 6)))
    packed = packed_settlement(SEPARATOR, s)
    assert len(packed) == 64 + 72 * 2
    assert packed[:32] == SEPARATOR
    assert packed[32:36] == (7).to_bytes(4, "big")
    assert packed[36:56] == bytes.fromhex(TOKEN[2:])
    assert packed[56:64] == bytes.fromhex("0102030405060708")
    second = packed[64 + 72 :]
    assert second[:20] == bytes.fromhex(BOB[2:])
    assert second[20:40] == bytes.fromhex(PAYEE[2:])
    assert second[40:48] == (4).to_bytes(8, "big")
    assert second[48:56] == (5).to_bytes(8, "big")
    assert second[56:72] == (6).to_bytes(16, "big")


# Pinned in contracts/test/SettlementHashing.t.sol too; the circuit must reproduce it.
PINNED_PUBLIC_INPUT = 0x28981576B907675F000613076BDC33DD8D21B9118F99EF49A1671C22E465373A


def test_public_input_matches_pinned_vector() -> None:
    s = Settlement(
        7, TOKEN, 0x0102030405060708, (Pair(ALICE, PAYEE, 1, 2, 3), Pair(BOB, PAYEE, 4, 5, 2**128 - 1))
    )
    assert settlement_public_input(SEPARATOR, s) == PINNED_PUBLIC_INPUT


def test_public_input_is_reduced_keccak() -> None:
    s = Settlement(1, TOKEN, 10, (Pair(ALICE, PAYEE, 0, 1, 1),))
    digest = int.from_bytes(keccak(packed_settlement(SEPARATOR, s)), "big")
    assert settlement_public_input(SEPARATOR, s) == digest % SNARK_SCALAR_FIELD


@pytest.mark.parametrize(
    ("field", "pair"),
    [
        ("from_nonce", lambda: Pair(ALICE, PAYEE, -1, 1, 1)),
        ("to_nonce", lambda: Pair(ALICE, PAYEE, 0, 2**64, 1)),
        ("total", lambda: Pair(ALICE, PAYEE, 0, 1, 2**128)),
        ("payer", lambda: Pair(ALICE.lower(), PAYEE, 0, 1, 1)),
        ("total", lambda: Pair(ALICE, PAYEE, 0, 1, True)),
    ],
)
def test_pair_rejects_out_of_range_fields(field: str, pair: object) -> None:
    with pytest.raises(InvalidSettlement) as caught:
        pair()  # type: ignore[operator]
    assert caught.value.context["field"] == field


def test_settlement_rejects_out_of_range_verifier_id() -> None:
    with pytest.raises(InvalidSettlement, match="verifier_id"):
        Settlement(2**32, TOKEN, 0, ())


def _mandate(payer: str, nonce: int, amount: int, deadline: int = 2_000_000_000) -> Mandate:
    return Mandate.build(
        payer=payer, payee=PAYEE, token=TOKEN, amount=amount, nonce=nonce, deadline=deadline, ref=bytes(32)
    )


def test_build_settlement_groups_pairs_from_high_water() -> None:
    mandates = [_mandate(BOB, 9, 5, 1_900_000_000), _mandate(ALICE, 3, 1), _mandate(ALICE, 5, 2)]
    s = build_settlement(4, TOKEN, mandates, {(ALICE, PAYEE): 2})
    assert s == Settlement(4, TOKEN, 1_900_000_000, (Pair(ALICE, PAYEE, 2, 5, 3), Pair(BOB, PAYEE, 0, 9, 5)))


@pytest.mark.parametrize(
    ("mandates", "from_nonces"),
    [
        ([_mandate(ALICE, 2, 1)], {(ALICE, PAYEE): 2}),
        ([_mandate(ALICE, 3, 1), _mandate(ALICE, 3, 1)], {}),
        ([], {}),
    ],
)
def test_build_settlement_rejects_unsettleable_mandates(
    mandates: list[Mandate], from_nonces: dict[tuple[str, str], int]
) -> None:
    with pytest.raises(InvalidSettlement):
        build_settlement(1, TOKEN, mandates, from_nonces)


def test_build_settlement_rejects_foreign_token() -> None:
    other = Mandate.build(
        payer=ALICE, payee=PAYEE, token=ALICE, amount=1, nonce=1, deadline=2_000_000_000, ref=bytes(32)
    )
    with pytest.raises(InvalidSettlement, match="token"):
        build_settlement(1, TOKEN, [other], {})


# -- parity with the contract ------------------------------------------------------------------


@pytest.fixture(scope="module")
def escrow(w3: Web3, deployer_key: bytes) -> Iterator[EscrowClient]:
    yield EscrowClient(w3, deploy_escrow(w3, deployer_key))


def test_domain_separator_matches_mandate_domain(escrow: EscrowClient) -> None:
    assert escrow.domain_separator() == escrow.domain().separator


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(settlement=settlements())
def test_public_input_matches_contract(escrow: EscrowClient, settlement: Settlement) -> None:
    expected = settlement_public_input(escrow.domain_separator(), settlement)
    assert escrow.public_input_of(settlement) == expected
    assert 0 <= expected < SNARK_SCALAR_FIELD


def test_public_input_binds_the_escrow(w3: Web3, deployer_key: bytes, escrow: EscrowClient) -> None:
    other = EscrowClient(w3, deploy_escrow(w3, deployer_key, owner=Account.create().address))
    s = Settlement(1, TOKEN, 10, (Pair(ALICE, PAYEE, 0, 1, 1),))
    assert other.public_input_of(s) != escrow.public_input_of(s)
