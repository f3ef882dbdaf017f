"""The payee side of the x402 A2A extension (standalone flow, a2a-sdk 0.3): paid agent skills.

The state machine, with the extension's metadata keys on ``task.status.message.metadata``:

1. a request arrives → a task in ``input-required`` with ``x402.payment.status =
   "payment-required"`` and ``x402.payment.required`` (an x402 ``PaymentRequired``
   whose aep2 entry quotes this call's ``ref``);
2. the client answers on the same task with ``"payment-submitted"`` and
   ``x402.payment.payload`` → the payee's check runs and commits
   (``"payment-verified"``, state ``working``), the skill runs, and the task
   completes with ``"payment-completed"`` and ``x402.payment.receipts`` (x402
   ``SettleResponse`` objects carrying the signed receipt);
3. a rejected mandate fails the task with ``"payment-failed"``, the aep2 reason
   code in ``x402.payment.error`` and a failed ``SettleResponse`` in the receipts;
   ``"payment-rejected"`` from the client fails it too.

The ref is :func:`~aep2.protocol.call_ref.a2a_ref` of the text of the task's first
user message, the skill this executor serves and the task id. Amounts stay strings.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import Part, Role, Task, TaskState, TextPart
from a2a.utils import get_message_text, new_task
from x402.schemas import SettleResponse

from aep2.errors import MandateError
from aep2.payee.challenge import offered_mandate, payload_from, payment_required, settle_response
from aep2.payee.check import PayeeCheck
from aep2.protocol.call_ref import a2a_descriptor, ref_of
from aep2.protocol.metadata_keys import A2A_ERROR as ERROR
from aep2.protocol.metadata_keys import A2A_EXTENSION_URI as X402_EXTENSION_URI
from aep2.protocol.metadata_keys import A2A_PAYLOAD as PAYLOAD
from aep2.protocol.metadata_keys import A2A_RECEIPTS as RECEIPTS
from aep2.protocol.metadata_keys import A2A_REQUIRED as REQUIRED
from aep2.protocol.metadata_keys import A2A_STATUS as STATUS
from aep2.protocol.scheme import network_of

Skill = Callable[[str], str | Awaitable[str]]


__all__ = [
    "ERROR",
    "PAYLOAD",
    "RECEIPTS",
    "REQUIRED",
    "STATUS",
    "X402_EXTENSION_URI",
    "PaidAgentExecutor",
    "Skill",
    "request_text",
]


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)  # type: ignore[no-any-return]


def request_text(task: Task) -> str:
    """The text of the task's first user message: what the payer asked for and pays for."""
    first = next((m for m in task.history or [] if m.role == Role.user), None)
    return get_message_text(first) if first is not None else ""


class PaidAgentExecutor(AgentExecutor):
    """Charges ``price`` per task with the payee's check, then answers with ``skill(text)``."""

    def __init__(self, skill: Skill, *, check: PayeeCheck, price: int, skill_id: str = "") -> None:
        self.skill, self.check, self.price, self.skill_id = skill, check, price, skill_id

    def _descriptor(self, task: Task) -> dict[str, str]:
        return a2a_descriptor(request_text(task), skill=self.skill_id, task=task.id)

    def _ref(self, task: Task) -> bytes:
        return ref_of(self._descriptor(task))

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task
        if task is None:
            task = new_task(context.message)
            await event_queue.enqueue_event(task)
            await self._demand(TaskUpdater(event_queue, task.id, task.context_id), task)
            return
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        metadata = context.message.metadata or {}
        status = metadata.get(STATUS)
        if status == "payment-rejected":
            await updater.failed(updater.new_agent_message(_text("Payment was rejected."), {STATUS: status}))
        elif status != "payment-submitted":
            await self._demand(updater, task)
        else:
            await self._pay_and_serve(updater, task, metadata.get(PAYLOAD))

    async def _demand(self, updater: TaskUpdater, task: Task) -> None:
        required = payment_required(
            self.check.settings, price=self.price, ref=self._ref(task), url=f"a2a://task/{task.id}"
        )
        message = updater.new_agent_message(
            _text("Payment is required."), {STATUS: "payment-required", REQUIRED: _dump(required)}
        )
        await updater.update_status(TaskState.input_required, message=message, final=True)

    async def _pay_and_serve(self, updater: TaskUpdater, task: Task, payload: object) -> None:
        descriptor = self._descriptor(task)
        ref = ref_of(descriptor)
        try:
            header = offered_mandate(payload_from(payload), self.check.settings, price=self.price)
            acceptance = await anyio.to_thread.run_sync(
                lambda: self.check.accept(
                    header, price=self.price, ref=ref, transport="a2a", descriptor=descriptor
                )
            )
        except MandateError as exc:
            await self._fail(updater, exc)
            return
        verified = updater.new_agent_message(_text("Payment accepted."), {STATUS: "payment-verified"})
        await updater.update_status(TaskState.working, message=verified)
        answer = self.skill(request_text(task))
        if inspect.isawaitable(answer):
            answer = await answer
        await updater.add_artifact(_text(str(answer)), name="result")
        receipt = _dump(settle_response(self.check.settings, acceptance))
        done = updater.new_agent_message(
            _text("Payment successful."), {STATUS: "payment-completed", RECEIPTS: [receipt]}
        )
        await updater.complete(done)

    async def _fail(self, updater: TaskUpdater, exc: MandateError) -> None:
        failure = SettleResponse(
            success=False,
            error_reason=str(exc.reason),
            error_message=exc.message,
            transaction="",
            network=network_of(self.check.settings.chain_id),
        )
        metadata = {STATUS: "payment-failed", ERROR: str(exc.reason), RECEIPTS: [_dump(failure)]}
        await updater.failed(updater.new_agent_message(_text(f"Payment failed: {exc.message}"), metadata))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is not None:
            await TaskUpdater(event_queue, task.id, task.context_id).cancel()


def _text(text: str) -> list[Part]:
    return [Part(root=TextPart(text=text))]
