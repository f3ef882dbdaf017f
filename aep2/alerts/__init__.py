"""Alerts that reach people: signed webhooks from a persisted outbox (docs/alerts.md).

Modules, in the order an alert travels::

    kinds       the alert types, the fields of each, their dedupe keys and the JSON body
    outbox      the alert_outbox table: enqueue in the caller's transaction; claim, mark delivered/failed
    signing     Standard Webhooks: whsec_ secrets, the v1 HMAC-SHA256 signature, verify for receivers
    sender      claim due rows, POST them signed, back off with jitter, give up after N attempts
    config      the sender's settings from the environment or payee.yaml
    payer_log   payer-side alerts derived from the payer's audit log, with a cursor beside it

The payee's settlement pipeline enqueues through :mod:`aep2.settlement.alerting`; the sender runs
as the ``aep2.send_alerts`` Celery task or ``aep2 alerts send``.
"""

from aep2.alerts.kinds import FIELDS, VERSION, Alert
from aep2.alerts.outbox import DEAD, DELIVERED, PENDING, AlertRow, create_outbox, enqueue
from aep2.alerts.sender import Sender, SenderConfig, SendReport, backoff
from aep2.alerts.signing import new_secret, secret_key, sign_headers, signature, verify

__all__ = [
    "DEAD",
    "DELIVERED",
    "FIELDS",
    "PENDING",
    "VERSION",
    "Alert",
    "AlertRow",
    "SendReport",
    "Sender",
    "SenderConfig",
    "backoff",
    "create_outbox",
    "enqueue",
    "new_secret",
    "secret_key",
    "sign_headers",
    "signature",
    "verify",
]
