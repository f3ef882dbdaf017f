"""The aep2 A2A client against a stub merchant agent (a2a-sdk JSON-RPC under uvicorn): overbilling and
refusals. Paying the real ``PaidAgentExecutor``: tests/test_paid_calls_e2e.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.apps import A2AStarletteApplication
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
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
from a2a.utils import get_message_text, new_task
from x402.schemas import PaymentRequired, ResourceInfo, SettleResponse

from aep2.errors import Aep2Error, PaymentRequestError, Reason
from aep2.mandate import decode
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.protocol.call_ref import a2a_ref
from aep2.protocol.receipt import transaction_ref
from aep2.protocol.scheme import header_of, network_of
from aep2.transports.a2a_client import (
    ERROR,
    PAYLOAD,
    RECEIPTS,
    REQUIRED,
    STATUS,
    X402_EXTENSION_URI,
    PaidTask,
    send_message_paid,
)
from tests.conftest import PAYER_KEY
from tests.test_payer_stub import CHAIN_ID, PRICE, PayeeStub, serve_app


class PaidAgent(AgentExecutor):
    """Answers every request with a payment demand, then serves it once a valid mandate arrives."""

    def __init__(self, stub: PayeeStub, *, overbill: bool = False) -> None:
        self.stub = stub
        self.overbill = overbill
        self.requests: dict[str, str] = {}

    def _ref(self, task_id: str) -> bytes:
        text = "everything, please" if self.overbill else self.requests[task_id]
        return a2a_ref(text, task=task_id)

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        metadata = context.message.metadata or {}
        if context.current_task is None:
            task = new_task(context.message)
            await event_queue.enqueue_event(task)
            self.requests[task.id] = get_message_text(context.message)
            await self._demand(TaskUpdater(event_queue, task.id, task.context_id))
            return
        updater = TaskUpdater(event_queue, context.current_task.id, context.current_task.context_id)
        if metadata.get(STATUS) != "payment-submitted":
            await self._demand(updater)
            return
        await self._settle(updater, metadata.get(PAYLOAD))

    async def _demand(self, updater: TaskUpdater, error: str | None = None) -> None:
        required = PaymentRequired(
            resource=ResourceInfo(url=f"a2a://task/{updater.task_id}"),
            accepts=[self.stub.requirement(self._ref(updater.task_id))],
        ).model_dump(by_alias=True, exclude_none=True)
        metadata: dict[str, Any] = {STATUS: "payment-required", REQUIRED: required}
        if error is not None:
            metadata = {STATUS: "payment-failed", ERROR: error}
        message = updater.new_agent_message([Part(root=TextPart(text="Payment is required."))], metadata)
        await updater.update_status(TaskState.input_required, message=message, final=True)

    async def _settle(self, updater: TaskUpdater, payload: Any) -> None:
        self.stub.payment_headers_seen += 1
        try:
            signed = decode(header_of(payload["payload"]))
            signed.verify()
        except (Aep2Error, KeyError, TypeError) as exc:
            await self._demand(updater, str(getattr(exc, "reason", "mandate_malformed")))
            return
        if (code := self.stub.check(signed, self._ref(updater.task_id))) is not None:
            await self._demand(updater, code)
            return
        self.stub.accepted.append(signed)
        settle = SettleResponse(
            success=True, payer=signed.mandate.payer, transaction=transaction_ref(signed.digest),
            network=network_of(CHAIN_ID), extra=self.stub.receipt(signed, self.stub.payee_key),
        ).model_dump(by_alias=True, exclude_none=True)  # fmt: skip
        await updater.add_artifact([Part(root=TextPart(text="the answer is 42"))], name="answer")
        done = updater.new_agent_message(
            [Part(root=TextPart(text="Payment successful."))],
            {STATUS: "payment-completed", RECEIPTS: [settle]},
        )
        await updater.complete(done)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


def _card(url: str) -> AgentCard:
    return AgentCard(
        name="oracle", description="answers for a fee", url=url, version="1.0.0",
        default_input_modes=["text"], default_output_modes=["text"],
        capabilities=AgentCapabilities(
            streaming=False,
            extensions=[AgentExtension(uri=X402_EXTENSION_URI, description="x402 payments", required=True)],
        ),
        skills=[AgentSkill(id="oracle", name="oracle", description="answers", tags=["paid"])],
    )  # fmt: skip


def _serve(stub: PayeeStub, **kwargs: Any) -> Iterator[str]:
    handler = DefaultRequestHandler(agent_executor=PaidAgent(stub, **kwargs), task_store=InMemoryTaskStore())
    placeholder = _card("http://127.0.0.1/")
    app = A2AStarletteApplication(agent_card=placeholder, http_handler=handler)
    with serve_app(app.build()) as base:
        placeholder.url = base + "/"  # the card names where the agent really listens
        yield base


@pytest.fixture
def agent_url(stub: PayeeStub) -> Iterator[str]:
    yield from _serve(stub)


@pytest.fixture
def payer(payer_db: Path) -> Payer:
    return Payer(LocalKeySigner(PAYER_KEY), Policy(max_per_payment=PRICE), db=payer_db)


def _ask(url: str, payer: Payer, text: str) -> PaidTask:
    async def main() -> PaidTask:
        async with httpx.AsyncClient(timeout=30) as http:
            card = await A2ACardResolver(http, url).get_agent_card()
            client = ClientFactory(ClientConfig(streaming=False, httpx_client=http)).create(card)
            message = Message(
                message_id=str(uuid.uuid4()), role=Role.user, parts=[Part(root=TextPart(text=text))]
            )
            return await send_message_paid(client, payer, message)

    return anyio.run(main)


def test_an_agent_billing_another_request_is_refused(stub: PayeeStub, payer: Payer) -> None:
    for url in _serve(stub, overbill=True):
        with pytest.raises(PaymentRequestError) as info:
            _ask(url, payer, "what is the answer?")
        assert info.value.reason == Reason.REF_MISMATCH
        assert stub.payment_headers_seen == 0


def test_a_refused_mandate_is_reported(agent_url: str, stub: PayeeStub, payer: Payer, tmp_path: Path) -> None:
    assert _ask(agent_url, payer, "first").payment is not None
    restored = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=tmp_path / "restored-from-backup.db")
    paid = _ask(agent_url, restored, "second")  # nonce 1 again: the agent's replay check refuses it
    assert isinstance(paid.result, Task) and paid.result.status.state == TaskState.input_required
    assert paid.payment is not None and paid.payment.receipt is None
    assert paid.payment.error == "payee refused the mandate: nonce_replayed"
    assert len(stub.accepted) == 1
