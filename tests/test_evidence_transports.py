"""Every transport of the payee records the call a mandate paid for, so its evidence carries the
descriptor whose hash is ``ref``: HTTP in ``tests/test_evidence.py``, MCP and A2A here (real
FastMCP and a2a-sdk servers and clients, as in ``tests/test_payee_mcp.py`` and ``test_payee_a2a.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from a2a.server.apps import A2AStarletteApplication
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCard, TaskState
from mcp.server.fastmcp import FastMCP
from sqlalchemy import Engine

from aep2.errors import EvidenceError, Reason
from aep2.evidence import export_evidence, verify_offline
from aep2.mandate import encode
from aep2.payee import PayeeCheck, StaticChainView
from aep2.protocol.call_ref import a2a_ref, mcp_ref
from aep2.transports.a2a_server import PaidAgentExecutor
from aep2.transports.mcp_server import add_paid_tool
from tests import payee_support as s
from tests.test_payee_a2a import QUESTION, card, message, send, submission
from tests.test_payee_mcp import call, get_weather, payment


def _check(engine: Engine) -> PayeeCheck:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**9)
    return PayeeCheck(settings=s.settings(), engine=engine, chain=chain)


@pytest.fixture
def mcp_url(engine: Engine) -> Iterator[str]:
    mcp = FastMCP("weather", stateless_http=True, json_response=True)
    add_paid_tool(mcp, get_weather, check=_check(engine), price=s.PRICE)
    with s.serve(mcp.streamable_http_app()) as running:
        yield running.url


@pytest.fixture
def agent(engine: Engine) -> Iterator[AgentCard]:
    executor = PaidAgentExecutor(lambda text: "42", check=_check(engine), price=s.PRICE, skill_id="oracle")
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore())
    agent_card = card("http://127.0.0.1/")
    with s.serve(A2AStarletteApplication(agent_card=agent_card, http_handler=handler).build()) as running:
        agent_card.url = running.url + "/"
        yield agent_card


def test_a_paid_mcp_call_exports_its_descriptor(mcp_url: str, engine: Engine) -> None:
    args = {"city": "Paris", "days": 2}
    accepted = s.aep2_accept(call(mcp_url, args).structuredContent or {})
    signed = s.sign(ref=mcp_ref("get_weather", args))
    assert not call(mcp_url, args, payment(accepted, encode(signed))).isError
    evidence = export_evidence(engine, "0x" + signed.digest.hex())
    assert evidence.call is not None and evidence.call.descriptor["tool"] == "get_weather"
    assert evidence.absent == ("settlement",)
    assert [c.name for c in verify_offline(evidence).checks][2] == "call"


def test_a_paid_a2a_task_exports_its_descriptor(agent: AgentCard, engine: Engine) -> None:
    (demand,) = send(agent, message(QUESTION))
    signed = s.sign(ref=a2a_ref(QUESTION, skill="oracle", task=demand.id))
    (done,) = send(agent, submission(demand, encode(signed)))
    assert done.status.state == TaskState.completed
    evidence = export_evidence(engine, "0x" + signed.digest.hex())
    assert evidence.call is not None and evidence.call.descriptor["task"] == demand.id
    assert verify_offline(evidence).absent == ("settlement",)


def test_an_unknown_digest_is_not_found(engine: Engine) -> None:
    with pytest.raises(EvidenceError) as caught:
        export_evidence(engine, "0x" + "12" * 32)
    assert caught.value.reason == Reason.EVIDENCE_NOT_FOUND
