"""The window planner: every mandate is planned or deferred with a reason, and the plan settles cleanly."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from aep2.settlement.planner import (
    CircuitSize,
    Deferral,
    PendingMandate,
    PlanInputs,
    plan_window,
)

SIZES = [CircuitSize(1, 1, 1), CircuitSize(2, 2, 2), CircuitSize(3, 4, 2), CircuitSize(4, 8, 4)]
NOW = 1_000_000
PAYERS, PAYEES, TOKENS = ["A", "B", "C"], ["X", "Y"], ["T", "U"]


def m(id: int, nonce: int, amount: int = 10, deadline: int = NOW + 10_000, payer: str = "A", payee: str = "X",
      token: str = "T") -> PendingMandate:  # fmt: skip
    return PendingMandate(id, payer, payee, token, amount, nonce, deadline)


def inputs(**overrides: object) -> PlanInputs:
    rich = {(payer, token): 10**9 for payer in PAYERS for token in TOKENS}
    base = {"high_water": {}, "available": rich, "now": NOW, "submit_margin": 600}
    return PlanInputs(**(base | overrides))  # type: ignore[arg-type]


def test_one_pair_fits_the_smallest_circuit() -> None:
    plan = plan_window([m(1, 1), m(2, 2)], SIZES, inputs())
    assert [c.circuit.verifier_id for c in plan.chunks] == [2]
    (pair,) = plan.chunks[0].pairs
    assert (pair.from_nonce, pair.to_nonce, pair.total) == (0, 2, 20)


def test_long_pair_is_split_over_consecutive_chunks() -> None:
    plan = plan_window([m(i, i) for i in range(1, 12)], SIZES, inputs(high_water={("A", "X"): 0}))
    slices = [p for c in plan.chunks for p in c.pairs]
    assert [(s.from_nonce, s.to_nonce) for s in slices] == [(0, 8), (8, 11)]
    assert [c.circuit.verifier_id for c in plan.chunks] == [4, 3]


def test_stale_and_expired_mandates_are_reported() -> None:
    plan = plan_window(
        [m(1, 3), m(2, 5, deadline=NOW + 10), m(3, 6)], SIZES, inputs(high_water={("A", "X"): 3})
    )
    assert dict((d.id, r) for d, r in plan.deferred) == {1: Deferral.STALE_NONCE, 2: Deferral.EXPIRED}
    assert [x.id for c in plan.chunks for p in c.pairs for x in p.mandates] == [3]


def test_balance_shortfall_defers_the_rest_of_the_pair() -> None:
    plan = plan_window([m(1, 1, 60), m(2, 2, 60), m(3, 3, 1)], SIZES, inputs(available={("A", "T"): 100}))
    assert dict((d.id, r) for d, r in plan.deferred) == {
        2: Deferral.INSUFFICIENT_BALANCE,
        3: Deferral.BEHIND_DEFERRED,
    }


def test_pair_paying_in_two_tokens_alternates_chunks_in_nonce_order() -> None:
    plan = plan_window([m(1, 1, token="T"), m(2, 2, token="U"), m(3, 3, token="T")], SIZES, inputs())
    assert [(c.token, c.pairs[0].from_nonce, c.pairs[0].to_nonce) for c in plan.chunks] == [
        ("T", 0, 1),
        ("U", 1, 2),
        ("T", 2, 3),
    ]


def test_nearest_deadline_goes_first() -> None:
    plan = plan_window(
        [m(1, 1, payer="A", deadline=NOW + 9_000), m(2, 1, payer="B", deadline=NOW + 700)], SIZES, inputs()
    )
    assert [p.payer for p in plan.chunks[0].pairs] == ["B", "A"]
    assert plan.chunks[0].not_after == NOW + 700


mandate_lists = st.lists(
    st.builds(
        lambda payer, payee, token, amount, nonce, dl: (payer, payee, token, amount, nonce, dl),
        st.sampled_from(PAYERS),
        st.sampled_from(PAYEES),
        st.sampled_from(TOKENS),
        st.integers(1, 50),
        st.integers(1, 40),
        st.integers(NOW - 100, NOW + 5_000),
    ),
    max_size=60,
    unique_by=lambda t: (t[0], t[1], t[4]),
)


@settings(max_examples=300, deadline=None)
@given(
    raw=mandate_lists,
    high_water=st.dictionaries(
        st.tuples(st.sampled_from(PAYERS), st.sampled_from(PAYEES)), st.integers(0, 10)
    ),
    balances=st.dictionaries(
        st.tuples(st.sampled_from(PAYERS), st.sampled_from(TOKENS)), st.integers(0, 300)
    ),
    reservations=st.dictionaries(
        st.tuples(st.sampled_from(PAYERS), st.sampled_from(PAYEES), st.sampled_from(TOKENS)),
        st.integers(0, 200),
    ),
)
def test_plan_invariants(
    raw: list[tuple[str, str, str, int, int, int]],
    high_water: dict[tuple[str, str], int],
    balances: dict[tuple[str, str], int],
    reservations: dict[tuple[str, str, str], int],
) -> None:
    mandates = [PendingMandate(i, *t) for i, t in enumerate(raw)]
    plan = plan_window(
        mandates, SIZES, inputs(high_water=high_water, available=balances, reserved=reservations)
    )

    planned = [x for c in plan.chunks for p in c.pairs for x in p.mandates]
    assert sorted(x.id for x in planned + [d for d, _ in plan.deferred]) == [x.id for x in mandates]

    chain_high_water = dict(high_water)
    free, reserved = defaultdict(int, balances), defaultdict(int, reservations)
    for chunk in plan.chunks:
        assert chunk.mandate_count <= chunk.circuit.mandates and len(chunk.pairs) <= chunk.circuit.pairs
        smaller = [s for s in SIZES if s.mandates >= chunk.mandate_count and s.pairs >= len(chunk.pairs)]
        assert chunk.circuit == min(smaller, key=lambda s: (s.mandates, s.pairs))
        assert chunk.not_after >= NOW + 600
        assert len({(p.payer, p.payee) for p in chunk.pairs}) == len(chunk.pairs)
        for pair in chunk.pairs:
            # what the escrow checks: the slice starts at the stored high-water mark
            assert pair.from_nonce == chain_high_water.get((pair.payer, pair.payee), 0)
            nonces = [x.nonce for x in pair.mandates]
            assert nonces == sorted(set(nonces)) and nonces[0] > pair.from_nonce
            assert {x.token for x in pair.mandates} == {chunk.token}
            chain_high_water[(pair.payer, pair.payee)] = pair.to_nonce
            # what the escrow debits: this payee's reservation first, then the free balance
            own = (pair.payer, pair.payee, chunk.token)
            assert pair.total <= reserved[own] + free[(pair.payer, chunk.token)], "the escrow would skip it"
            from_reserved = min(pair.total, reserved[own])
            reserved[own] -= from_reserved
            free[(pair.payer, chunk.token)] -= pair.total - from_reserved


def test_reservation_backs_only_its_own_payee() -> None:
    reserved = {("A", "X", "T"): 100}
    plan = plan_window(
        [m(1, 1, 100, payee="X"), m(2, 1, 100, payee="Y")],
        SIZES,
        inputs(available={("A", "T"): 0}, reserved=reserved),
    )
    assert [(p.payee, p.total) for c in plan.chunks for p in c.pairs] == [("X", 100)]
    assert dict((d.id, r) for d, r in plan.deferred) == {2: Deferral.INSUFFICIENT_BALANCE}


def test_reservation_is_spent_before_the_free_balance() -> None:
    """Payee X's pair uses its 50 reserved first, so Y's pair still finds the 100 free."""
    plan = plan_window(
        [m(1, 1, 120, payee="X"), m(2, 1, 30, payee="Y")],
        SIZES,
        inputs(available={("A", "T"): 100}, reserved={("A", "X", "T"): 50}),
    )
    assert sorted(p.payee for c in plan.chunks for p in c.pairs) == ["X", "Y"]


def test_payer_with_a_pending_withdrawal_goes_first() -> None:
    plan = plan_window(
        [m(1, 1, payer="A", deadline=NOW + 700), m(2, 1, payer="B", deadline=NOW + 9_000)],
        SIZES,
        inputs(leaving_at={("B", "T"): NOW + 3_600}),
    )
    assert [p.payer for p in plan.chunks[0].pairs] == ["B", "A"]


# --- agent-key mandates ---------------------------------------------------------------------------

AGENT_SIZES = [CircuitSize(9, 4, 2, "agent"), CircuitSize(10, 16, 4, "agent")]


def a(id: int, nonce: int, key_id: int = 7, amount: int = 10, payer: str = "A", payee: str = "X",
      deadline: int = NOW + 10_000) -> PendingMandate:  # fmt: skip
    return PendingMandate(id, payer, payee, "T", amount, nonce, deadline, key_id)


def test_each_family_is_chunked_onto_its_own_circuits() -> None:
    plan = plan_window([m(1, 1), a(2, 1), a(3, 2)], SIZES + AGENT_SIZES, inputs(key_left={7: 100}))
    by_family = {c.family: c for c in plan.chunks}
    assert set(by_family) == {"batch", "agent"} and not plan.deferred
    assert by_family["agent"].circuit.verifier_id == 9
    (agent_pair,) = by_family["agent"].pairs
    assert (agent_pair.key_id, agent_pair.payer, agent_pair.to_nonce) == (7, "A", 2)
    assert [p.key_id for p in by_family["batch"].pairs] == [0]


def test_agent_pairs_start_at_the_keys_own_mark() -> None:
    plan = plan_window(
        [a(1, 3), a(2, 4), m(3, 1)], SIZES + AGENT_SIZES,
        inputs(key_left={7: 100}, agent_high_water={(7, "X"): 3}, high_water={("A", "X"): 0}),
    )  # fmt: skip
    assert dict((d.id, r) for d, r in plan.deferred) == {1: Deferral.STALE_NONCE}
    agent = next(c for c in plan.chunks if c.family == "agent")
    assert [(p.from_nonce, p.to_nonce) for p in agent.pairs] == [(3, 4)]


def test_the_keys_cap_left_bounds_its_pairs() -> None:
    plan = plan_window([a(1, 1), a(2, 2), a(3, 3)], SIZES + AGENT_SIZES, inputs(key_left={7: 15}))
    assert dict((d.id, r) for d, r in plan.deferred) == {2: Deferral.KEY_CAP, 3: Deferral.BEHIND_DEFERRED}
    assert [x.id for c in plan.chunks for p in c.pairs for x in p.mandates] == [1]


def test_a_payers_balance_is_shared_by_both_kinds() -> None:
    plan = plan_window(
        [m(1, 1, 60), a(2, 1, amount=60)], SIZES + AGENT_SIZES,
        inputs(available={("A", "T"): 100}, key_left={7: 1000}),
    )  # fmt: skip
    assert len([d for d, r in plan.deferred if r is Deferral.INSUFFICIENT_BALANCE]) == 1
    assert sum(p.total for c in plan.chunks for p in c.pairs) == 60


def test_without_a_circuit_of_its_family_a_mandate_waits() -> None:
    plan = plan_window([m(1, 1), a(2, 1)], SIZES, inputs(key_left={7: 100}))
    assert dict((d.id, r) for d, r in plan.deferred) == {2: Deferral.NO_CIRCUIT}
    assert [c.family for c in plan.chunks] == ["batch"]
    plan = plan_window(iter([a(3, 1)]), AGENT_SIZES, inputs(key_left={7: 100}))
    assert [c.family for c in plan.chunks] == ["agent"]
