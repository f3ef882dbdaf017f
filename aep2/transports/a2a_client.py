"""Pay for A2A tasks with aep2, in the x402 A2A extension's standalone flow (a2a-sdk 0.3).

1. we send a message; the merchant agent answers with a ``Task`` in state
   ``input-required`` whose ``status.message.metadata`` holds
   ``x402.payment.status = "payment-required"`` and ``x402.payment.required``
   (an x402 ``PaymentRequired``);
2. we sign a mandate for *this* request (``ref`` =
   :func:`~aep2.protocol.call_ref.a2a_ref` of its text, skill and task id)
   and send a message on the same ``taskId`` with ``x402.payment.status =
   "payment-submitted"`` and ``x402.payment.payload`` (a ``PaymentPayload``);
3. the final task carries ``x402.payment.status = "payment-completed"`` and
   ``x402.payment.receipts`` (``SettleResponse`` objects), or a failure status.

Amounts stay strings in metadata. The text of a message is its text parts
joined with ``"\\n"``; the ref's ``task`` is the id of the task that asked for
payment (a merchant that created no task yet may bill with ``""``: both are
our call, both are accepted).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from a2a.client import Client
from a2a.types import Message, Part, Role, Task, TaskState, TextPart
from a2a.utils import get_message_text

from aep2.errors import PaymentRequestError
from aep2.payer import AnySigned, Payer, encode_any, select_aep2
from aep2.payer._wire import Payment, outcome, payment_payload, read_payment_required
from aep2.protocol.call_ref import a2a_ref
from aep2.protocol.metadata_keys import A2A_ERROR as ERROR
from aep2.protocol.metadata_keys import A2A_EXTENSION_URI as X402_EXTENSION_URI
from aep2.protocol.metadata_keys import A2A_PAYLOAD as PAYLOAD
from aep2.protocol.metadata_keys import A2A_RECEIPTS as RECEIPTS
from aep2.protocol.metadata_keys import A2A_REQUIRED as REQUIRED
from aep2.protocol.metadata_keys import A2A_STATUS as STATUS

__all__ = [
    "ERROR",
    "PAYLOAD",
    "RECEIPTS",
    "REQUIRED",
    "STATUS",
    "X402_EXTENSION_URI",
    "PaidTask",
    "send_message_paid",
]


@dataclass(frozen=True)
class PaidTask:
    """The final task (or direct reply) and, when the request was paid, the :class:`Payment` it took."""

    result: Task | Message
    payment: Payment | None


def _metadata(task: Task) -> dict[str, Any]:
    message = task.status.message
    return dict(message.metadata or {}) if message is not None else {}


def _payment_required(result: Task | Message) -> dict[str, Any] | None:
    if not isinstance(result, Task) or result.status.state != TaskState.input_required:
        return None
    metadata = _metadata(result)
    required = metadata.get(REQUIRED)
    if metadata.get(STATUS) != "payment-required" or not isinstance(required, dict):
        return None
    return read_payment_required(required)


async def _send(client: Client, message: Message) -> Task | Message:
    last: Task | Message | None = None
    async for event in client.send_message(message, extensions=[X402_EXTENSION_URI]):
        last = event if isinstance(event, Message) else event[0]
    if last is None:
        raise PaymentRequestError("the agent sent no reply")
    return last


def _our_ref(requirement: dict[str, Any], text: str, skill: str, task: Task) -> bytes:
    """Our ref for this request, choosing among the task ids a merchant may fairly use."""
    candidates = [a2a_ref(text, skill=skill, task=task.id), a2a_ref(text, skill=skill, task="")]
    claimed = str((requirement.get("extra") or {}).get("ref", "")).removeprefix("0x")
    return next((ref for ref in candidates if ref.hex() == claimed), candidates[0])


async def send_message_paid(
    client: Client,
    payer: Payer,
    message: Message,
    *,
    skill: str = "",
    chain_id: int | None = None,
    verify_ref: bool = True,
) -> PaidTask:
    """Send ``message``; if the agent asks for payment, pay with an aep2 mandate on the same task."""
    first = await _send(client, message)
    required = _payment_required(first)
    if required is None:
        return PaidTask(first, None)
    assert isinstance(first, Task)
    requirement = select_aep2(required["accepts"], chain_id=chain_id)
    ref = _our_ref(requirement, get_message_text(message), skill, first) if verify_ref else None
    resource = required.get("resource")
    url = resource.get("url") if isinstance(resource, dict) else None
    signed = await anyio.to_thread.run_sync(
        lambda: payer.authorize(requirement, ref, resource=url or f"a2a://task/{first.id}")
    )
    header = encode_any(signed)
    submission = Message(
        message_id=str(uuid.uuid4()), role=Role.user, task_id=first.id, context_id=first.context_id,
        parts=[Part(root=TextPart(text="Here is the payment authorization."))],
        metadata={STATUS: "payment-submitted", PAYLOAD: payment_payload(requirement, header, resource)},
    )  # fmt: skip
    final = await _send(client, submission)
    payment = _payment_of(final, signed, header, payer.address)
    if payment.receipt is None and payment.error is not None:
        await anyio.to_thread.run_sync(payer.record_refusal, signed, payment.error)
    return PaidTask(final, payment)


def _payment_of(final: Task | Message, signed: AnySigned, header: str, payer: str) -> Payment:
    metadata = _metadata(final) if isinstance(final, Task) else dict(final.metadata or {})
    receipts = metadata.get(RECEIPTS)
    if metadata.get(STATUS) == "payment-completed" and isinstance(receipts, list) and receipts:
        return outcome(signed, header, receipts[-1] if isinstance(receipts[-1], dict) else None, payer=payer)
    error = metadata.get(ERROR) or metadata.get(STATUS) or "no payment status"
    return Payment(signed, header, None, None, f"payee refused the mandate: {error}")
