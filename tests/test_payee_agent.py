"""The payee's check for agent-key mandates: DESIGN's order, each refusal its code, nothing stored.

The escrow's key records come from a :class:`StaticChainView` here (the Web3 view is tested on
anvil with the escrow's bindings); the store is a real SQLite file.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aep2.agentkey import ANY_PAYEE, AgentKey, AgentMandate, SignedAgentMandate, agent_to_wire, encode_agent
from aep2.chain import AgentKeyInfo
from aep2.errors import ConfigurationError, MandateError, Reason
from aep2.mandate import Domain, encode
from aep2.payee import PayeeCheck, StaticChainView
from aep2.payee.challenge import requirements
from aep2.protocol.call_ref import http_ref
from aep2.protocol.receipt import verify_receipt
from aep2.store import MandateRow, MandateState, transition
from tests import payee_support as s
from tests.agent_library_calls import count_library_calls

REF = http_ref("GET", "http://127.0.0.1/weather")
DOMAIN = Domain(chain_id=s.CHAIN_ID, escrow=s.ESCROW)
KEY_ID = 7
AGENT = AgentKey.generate()
OTHER_AGENT = AgentKey.generate()


def record(**changes: Any) -> AgentKeyInfo:
    now = int(time.time())
    fields: dict[str, Any] = {
        "key_id": KEY_ID,
        "payer": s.PAYER,
        "key": AGENT.public_key,
        "token": s.TOKEN,
        "payee": s.PAYEE,
        "cap": 100 * s.PRICE,
        "spent": 0,
        "valid_after": now - 60,
        "valid_until": now + 30 * 86400,
        "revoke_at": 0,
        "pending_cap": 0,
        "pending_cap_at": 0,
    }
    return AgentKeyInfo(**(fields | changes))


@pytest.fixture
def chain() -> StaticChainView:
    view = StaticChainView()
    view.set(payer=s.PAYER, token=s.TOKEN, balance=10 * s.PRICE)
    view.agent_keys[KEY_ID] = record()
    return view


@pytest.fixture
def check(engine: Engine, chain: StaticChainView) -> PayeeCheck:
    return PayeeCheck(
        settings=s.settings(mandate_kinds=["eip712", "agent"]), engine=engine, chain=chain, agent_keys=chain
    )


def agent_signed(
    *, nonce: int = 1, amount: int = s.PRICE, key: AgentKey = AGENT, key_id: int = KEY_ID, **changes: Any
) -> SignedAgentMandate:
    fields: dict[str, Any] = {
        "key_id": key_id,
        "payee": s.PAYEE,
        "token": s.TOKEN,
        "amount": amount,
        "nonce": nonce,
        "deadline": int(time.time()) + 2 * s.HORIZON,
        "ref": REF,
    }
    domain = changes.pop("domain", DOMAIN)
    mandate = AgentMandate.build(**(fields | changes))
    return SignedAgentMandate(domain=domain, mandate=mandate, signature=key.sign(domain.separator, mandate))


def agent_header(**kw: Any) -> str:
    return encode_agent(agent_signed(**kw))


def accept(check: PayeeCheck, header: str, *, price: int = s.PRICE) -> Any:
    return check.accept(header, price=price, ref=REF, transport="test")


def reject(check: PayeeCheck, header: str, reason: Reason, *, price: int = s.PRICE) -> MandateError:
    before = s.stored(check.engine)
    with pytest.raises(MandateError) as caught:
        accept(check, header, price=price)
    assert caught.value.reason == reason, caught.value
    assert s.stored(check.engine) == before
    return caught.value


def test_accepts_an_agent_mandate_for_the_keys_payer(check: PayeeCheck) -> None:
    acceptance = accept(check, agent_header())
    assert acceptance.payer == s.PAYER and not acceptance.replayed
    receipt = verify_receipt(acceptance.receipt)
    assert (receipt.payer, receipt.payee, receipt.nonce) == (s.PAYER, s.PAYEE, "1")
    assert receipt.digest == "0x" + acceptance.signed.digest.hex()
    with Session(check.engine) as session:
        row = session.execute(select(MandateRow)).scalar_one()
    assert (row.kind, int(row.key_id), row.payer, row.state) == ("agent", KEY_ID, s.PAYER, "accepted")
    assert s.stored(check.engine) == (1, 1, 1)


def test_one_message_hash_per_call(check: PayeeCheck, monkeypatch: pytest.MonkeyPatch) -> None:
    """The signature check, the receipt, the stored row and the replay lookup share one ``M``."""
    header = agent_header()
    calls = count_library_calls(monkeypatch)
    first = accept(check, header)
    assert calls == {"aep2_agent_mandate_hash": 1, "aep2_agent_verify": 1}
    again = accept(check, header)  # decoded afresh: its own M, looked up as a replay
    assert again.replayed and again.receipt == first.receipt
    assert calls == {"aep2_agent_mandate_hash": 2, "aep2_agent_verify": 2}


def test_kinds_on_offer(check: PayeeCheck, engine: Engine, chain: StaticChainView) -> None:
    assert check.kinds == ("eip712", "agent")
    eip712_only = PayeeCheck(settings=s.settings(), engine=engine, chain=chain, agent_keys=chain)
    assert eip712_only.kinds == ("eip712",)
    reject(eip712_only, agent_header(), Reason.MANDATE_UNSUPPORTED_KIND)
    agent_only = PayeeCheck(
        settings=s.settings(mandate_kinds=["agent"]), engine=engine, chain=chain, agent_keys=chain
    )
    reject(agent_only, encode(s.sign(ref=REF)), Reason.MANDATE_UNSUPPORTED_KIND)
    accept(agent_only, agent_header())
    with pytest.raises(ConfigurationError):
        PayeeCheck(settings=s.settings(mandate_kinds=["agent"]), engine=engine, chain=chain)


def test_the_challenge_lists_the_kinds(check: PayeeCheck) -> None:
    offer = requirements(check.settings, price=s.PRICE, ref=REF)
    assert offer.extra is not None and offer.extra["kinds"] == ["eip712", "agent"]
    plain = requirements(s.settings(), price=s.PRICE, ref=REF)
    assert plain.extra is not None and "kinds" not in plain.extra


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"token": s.OTHER_TOKEN}, Reason.AGENT_KEY_WRONG_TOKEN),
        ({"payee": s.PAYER}, Reason.AGENT_KEY_OUT_OF_SCOPE),
        ({"valid_after": int(time.time()) + 7 * 86400}, Reason.AGENT_KEY_NOT_VALID),  # still future when run
        ({"valid_until": int(time.time()) + s.HORIZON}, Reason.AGENT_KEY_NOT_VALID),
        ({"revoke_at": int(time.time()) + 2 * s.HORIZON}, Reason.AGENT_KEY_REVOKED),
        ({"key": OTHER_AGENT.public_key}, Reason.SIGNATURE_INVALID),
        ({"key": b"\xff" * 32}, Reason.SIGNATURE_MALFORMED),
    ],
)
def test_step_3_reads_the_key_on_record(
    check: PayeeCheck, chain: StaticChainView, changes: dict[str, Any], reason: Reason
) -> None:
    chain.agent_keys[KEY_ID] = record(**changes)
    reject(check, agent_header(), reason)


def test_step_3_key_rules_that_pass(check: PayeeCheck, chain: StaticChainView) -> None:
    """Any-payee scope; a revocation after deadline + horizon; unknown key ids."""
    chain.agent_keys[KEY_ID] = record(payee=ANY_PAYEE, revoke_at=int(time.time()) + 30 * 86400)
    accept(check, agent_header())
    reject(check, agent_header(key_id=8), Reason.AGENT_KEY_UNKNOWN)


def test_steps_in_designs_order(check: PayeeCheck, chain: StaticChainView) -> None:
    """A mandate wrong everywhere fails on the first step: domain, then key, then price, then time."""
    other = Domain(chain_id=1, escrow=s.ESCROW)
    reject(check, agent_header(domain=other), Reason.WRONG_CHAIN)
    reject(check, agent_header(payee=s.PAYER), Reason.WRONG_PAYEE)
    chain.agent_keys[KEY_ID] = record(token=s.OTHER_TOKEN)
    reject(check, agent_header(amount=1), Reason.AGENT_KEY_WRONG_TOKEN)
    chain.agent_keys[KEY_ID] = record()
    reject(check, agent_header(amount=1, deadline=int(time.time())), Reason.AMOUNT_BELOW_PRICE)
    reject(check, agent_header(deadline=int(time.time()) + 10), Reason.DEADLINE_TOO_SOON)
    reject(check, agent_header(ref=b"\x01" * 32), Reason.REF_MISMATCH)


def test_signed_by_another_key_or_tampered(check: PayeeCheck) -> None:
    reject(check, agent_header(key=OTHER_AGENT), Reason.SIGNATURE_INVALID)
    signed = agent_signed()
    tampered = signed.model_copy(update={"mandate": signed.mandate.model_copy(update={"nonce": 2})})
    reject(check, encode_agent(tampered), Reason.SIGNATURE_INVALID)


def test_nonces_run_per_key_and_payee(check: PayeeCheck, chain: StaticChainView) -> None:
    """An agent key's sequence is its own: the payer's EIP-712 nonce 1 and another key's nonce 1 pass."""
    accept(check, agent_header(nonce=1))
    accept(check, encode(s.sign(ref=REF, nonce=1)))
    other = AgentKey.generate()
    chain.agent_keys[8] = record(key_id=8, key=other.public_key)
    accept(check, agent_header(nonce=1, key=other, key_id=8))
    error = reject(check, agent_header(nonce=1, amount=s.PRICE + 1), Reason.NONCE_REPLAYED)
    assert error.context["nonce_floor"] == 1
    chain.agent_high_waters[(KEY_ID, s.PAYEE)] = 5
    error = reject(check, agent_header(nonce=5), Reason.NONCE_BELOW_HIGH_WATER)
    assert error.context["nonce_floor"] == 5
    accept(check, agent_header(nonce=6))


def test_a_batched_nonce_is_a_floor(check: PayeeCheck) -> None:
    first = accept(check, agent_header(nonce=3))
    with Session(check.engine) as session, session.begin():
        transition(session=session, mandate_ids=[first.mandate_id], to=MandateState.BATCHED)
    reject(check, agent_header(nonce=2), Reason.NONCE_BELOW_BATCHED)


def test_the_same_mandate_again_gets_its_receipt(check: PayeeCheck) -> None:
    header = agent_header(nonce=4)
    first = accept(check, header)
    again = accept(check, header)
    assert again.replayed and again.receipt == first.receipt and again.payer == s.PAYER
    assert s.stored(check.engine) == (1, 1, 1)


def test_the_payers_headroom_counts(check: PayeeCheck, chain: StaticChainView) -> None:
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=s.PRICE)
    accept(check, agent_header(nonce=1))
    reject(check, agent_header(nonce=2), Reason.INSUFFICIENT_HEADROOM)


def test_the_keys_cap_counts_spent_and_unsettled(check: PayeeCheck, chain: StaticChainView) -> None:
    chain.agent_keys[KEY_ID] = record(cap=3 * s.PRICE, spent=s.PRICE)
    accept(check, agent_header(nonce=1))
    error = reject(check, agent_header(nonce=2, amount=s.PRICE + 1), Reason.AGENT_CAP_EXCEEDED)
    assert "remaining cap 1000" in error.message
    accepted = accept(check, agent_header(nonce=3))
    with Session(check.engine) as session, session.begin():  # a skipped mandate frees its cap share
        transition(session=session, mandate_ids=[accepted.mandate_id], to=MandateState.BATCHED)
        transition(session=session, mandate_ids=[accepted.mandate_id], to=MandateState.FAILED)
    accept(check, agent_header(nonce=4))


def test_a_cap_lowering_counts_once_it_takes_effect_before_settlement(
    check: PayeeCheck, chain: StaticChainView
) -> None:
    soon = int(time.time()) + 60
    chain.agent_keys[KEY_ID] = record(cap=10 * s.PRICE, pending_cap=s.PRICE // 2, pending_cap_at=soon)
    reject(check, agent_header(), Reason.AGENT_CAP_EXCEEDED)
    chain.agent_keys[KEY_ID] = record(
        cap=10 * s.PRICE, pending_cap=s.PRICE // 2, pending_cap_at=soon + 30 * 86400
    )
    accept(check, agent_header())


def test_verify_is_read_only_and_names_the_payer(check: PayeeCheck) -> None:
    header = agent_header(nonce=9)
    signed = check.verify(header, price=s.PRICE, ref=REF)
    assert isinstance(signed, SignedAgentMandate) and check.payer_of(signed) == s.PAYER
    assert s.stored(check.engine) == (0, 0, 0)


def _header_of(obj: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).decode()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    field=st.sampled_from(
        ["keyId", "payee", "token", "amount", "nonce", "deadline", "ref", "signature", "kind"]
    ),
    value=st.one_of(st.text(max_size=70), st.integers(min_value=0, max_value=2**70).map(str)),
)
def test_any_bad_agent_mandate_is_refused_with_a_code_and_stores_nothing(
    check: PayeeCheck, field: str, value: str
) -> None:
    obj = agent_to_wire(agent_signed(nonce=11))
    if obj[field] == value:
        return
    before = s.stored(check.engine)
    with pytest.raises(MandateError) as caught:
        accept(check, _header_of(obj | {field: value}))
    assert caught.value.reason in set(Reason)
    assert s.stored(check.engine) == before
