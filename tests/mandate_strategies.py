"""Hypothesis strategies for mandates, shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from aep2.agentkey import AgentMandate
from aep2.mandate import AMOUNT_LIMIT, SECP256K1_N, UINT64_LIMIT, Mandate, checksum

addresses = st.binary(min_size=20, max_size=20).map(lambda b: checksum("0x" + b.hex()))
private_keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))

mandates = st.builds(
    Mandate,
    payer=addresses,
    payee=addresses,
    token=addresses,
    amount=st.integers(min_value=1, max_value=AMOUNT_LIMIT - 1),
    nonce=st.integers(min_value=1, max_value=UINT64_LIMIT - 1),
    deadline=st.integers(min_value=0, max_value=UINT64_LIMIT - 1),
    ref=st.binary(min_size=32, max_size=32),
)

agent_mandates = st.builds(
    AgentMandate,
    key_id=st.integers(min_value=1, max_value=UINT64_LIMIT - 1),
    payee=addresses,
    token=addresses,
    amount=st.integers(min_value=1, max_value=AMOUNT_LIMIT - 1),
    nonce=st.integers(min_value=1, max_value=UINT64_LIMIT - 1),
    deadline=st.integers(min_value=0, max_value=UINT64_LIMIT - 1),
    ref=st.binary(min_size=32, max_size=32),
)
