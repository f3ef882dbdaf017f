"""A paid A2A skill: a real a2a-sdk server (JSON-RPC under uvicorn) and a real a2a-sdk client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.server.apps import A2AStarletteApplication
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentExtension,
    AgentSkill,
    Message,
    Part,
    Role,
    Task,
    TaskState,
    TextPart,
)
from a2a.utils import get_message_text
from sqlalchemy import Engine

from aep2.errors import Reason
from aep2.mandate import encode
from aep2.payee import PayeeCheck, StaticChainView
from aep2.protocol.call_ref import a2a_ref
from aep2.protocol.receipt import verify_receipt
from aep2.protocol.scheme import payload_of
from aep2.transports.a2a_server import (
    ERROR,
    PAYLOAD,
    RECEIPTS,
    REQUIRED,
    STATUS,
    X402_EXTENSION_URI,
    PaidAgentExecutor,
)
from tests import payee_support as s

QUESTION = "what is the answer?"


def card(url: str) -> AgentCard:
    return AgentCard(
        name="oracle", description="answers for a fee", url=url, version="1.0.0",
        default_input_modes=["text"], default_output_modes=["text"],
        capabilities=AgentCapabilities(
            streaming=False,
            extensions=[AgentExtension(uri=X402_EXTENSION_URI, description="x402 payments", required=True)],
        ),
        skills=[AgentSkill(id="oracle", name="oracle", description="answers", tags=["paid"])],
    )  # fmt: skip


@pytest.fixture
def agent(engine: Engine) -> Iterator[AgentCard]:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**9)
    check = PayeeCheck(settings=s.settings(), engine=engine, chain=chain)
    executor = PaidAgentExecutor(
        lambda text: f"the answer to {text!r} is 42", check=check, price=s.PRICE, skill_id="oracle"
    )
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore())
    agent_card = card("http://127.0.0.1/")
    with s.serve(A2AStarletteApplication(agent_card=agent_card, http_handler=handler).build()) as running:
        agent_card.url = running.url + "/"
        yield agent_card


def message(text: str, *, task: Task | None = None, metadata: dict[str, Any] | None = None) -> Message:
    return Message(
        message_id=str(uuid.uuid4()), role=Role.user, parts=[Part(root=TextPart(text=text))],
        task_id=task.id if task else None, context_id=task.context_id if task else None, metadata=metadata,
    )  # fmt: skip


def send(agent_card: AgentCard, *messages: Message) -> list[Task]:
    """Send each message in turn on one client; the task after each."""

    async def run() -> list[Task]:
        async with httpx.AsyncClient(timeout=30) as http:
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(agent_card)
            tasks: list[Task] = []
            for msg in messages:
                async for event in client.send_message(msg):
                    assert isinstance(event, tuple)
                    last = event[0]
                tasks.append(last)
            return tasks

    return anyio.run(run)


def meta(task: Task) -> dict[str, Any]:
    assert task.status.message is not None
    return dict(task.status.message.metadata or {})


def submission(task: Task, mandate_header: str) -> Message:
    accepted = s.aep2_accept(meta(task)[REQUIRED])
    payload = {"x402Version": 2, "accepted": accepted, "payload": payload_of(mandate_header)}
    return message(
        "Here is the payment.", task=task, metadata={STATUS: "payment-submitted", PAYLOAD: payload}
    )


def test_paid_task(agent: AgentCard, engine: Engine) -> None:
    (demand,) = send(agent, message(QUESTION))
    assert demand.status.state == TaskState.input_required
    assert meta(demand)[STATUS] == "payment-required"
    accepted = s.aep2_accept(meta(demand)[REQUIRED])
    ref = a2a_ref(QUESTION, skill="oracle", task=demand.id)
    assert accepted["extra"]["ref"] == "0x" + ref.hex() and isinstance(accepted["amount"], str)
    signed = s.sign(ref=ref)
    (done,) = send(agent, submission(demand, encode(signed)))
    assert done.status.state == TaskState.completed, meta(done)
    assert meta(done)[STATUS] == "payment-completed"
    receipt = verify_receipt(meta(done)[RECEIPTS][0]["extra"])
    assert receipt.digest == "0x" + signed.digest.hex() and receipt.amount == str(s.PRICE)
    assert done.artifacts and "42" in get_message_text(done.artifacts[0])  # type: ignore[arg-type]
    assert s.stored(engine) == (1, 1, 1)


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"amount": s.PRICE - 1}, Reason.AMOUNT_BELOW_PRICE), ({"ref": b"\x05" * 32}, Reason.REF_MISMATCH)],
)
def test_rejected_mandate_fails_the_task(
    agent: AgentCard, engine: Engine, change: dict[str, Any], reason: Reason
) -> None:
    (demand,) = send(agent, message(QUESTION))
    fields: dict[str, Any] = {"ref": a2a_ref(QUESTION, skill="oracle", task=demand.id)} | change
    (failed,) = send(agent, submission(demand, encode(s.sign(**fields))))
    assert failed.status.state == TaskState.failed
    assert meta(failed)[STATUS] == "payment-failed" and meta(failed)[ERROR] == reason
    assert meta(failed)[RECEIPTS][0]["errorReason"] == reason
    assert s.stored(engine) == (0, 0, 0)


def test_client_may_reject_payment(agent: AgentCard, engine: Engine) -> None:
    (demand,) = send(agent, message(QUESTION))
    (rejected,) = send(agent, message("no thanks", task=demand, metadata={STATUS: "payment-rejected"}))
    assert rejected.status.state == TaskState.failed and meta(rejected)[STATUS] == "payment-rejected"
    assert s.stored(engine) == (0, 0, 0)
