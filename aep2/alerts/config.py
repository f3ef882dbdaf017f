"""The sender's settings: the webhook URL and secret from payee.yaml or the environment.

``AEP2_ALERT_WEBHOOK_URL``
    where alerts are POSTed; unset: nothing is sent (alerts still collect in the outbox)
``AEP2_ALERT_WEBHOOK_SECRET``
    the ``whsec_`` secret the receiver verifies signatures with (``aep2 alerts new-secret``)
``AEP2_ALERT_TIMEOUT``
    seconds one request may take (default 10)
``AEP2_ALERT_MAX_ATTEMPTS``
    attempts before an alert is marked dead (default 10)
``AEP2_ALERT_BACKOFF``
    seconds before the first retry; each next one waits 4 times longer, up to 10 h (default 5)
``AEP2_ALERT_LEASE``
    seconds a claimed alert is held from other senders (default twice the timeout plus 10)

payee.yaml's ``alert_webhook_url`` and ``alert_webhook_secret``, when set, win over the first two.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aep2.alerts.sender import SenderConfig
from aep2.alerts.signing import secret_key
from aep2.errors import ConfigurationError


def sender_config(
    url: str | None = None, secret: str | None = None, *, env: Mapping[str, str] = os.environ
) -> SenderConfig | None:
    """The sender's config (``url``/``secret`` first, then the environment); None when no URL is
    configured. Raises :class:`ConfigurationError` for a URL without a usable secret."""
    url = url or env.get("AEP2_ALERT_WEBHOOK_URL")
    if not url:
        return None
    secret = secret or env.get("AEP2_ALERT_WEBHOOK_SECRET")
    if not secret:
        raise ConfigurationError(
            f"alerts go to {url} but no secret signs them: set AEP2_ALERT_WEBHOOK_SECRET "
            "(or alert_webhook_secret in payee.yaml) to a whsec_ secret (aep2 alerts new-secret)"
        )
    try:
        lease = env.get("AEP2_ALERT_LEASE")
        return SenderConfig(
            url=url,
            key=secret_key(secret),
            timeout=float(env.get("AEP2_ALERT_TIMEOUT", "10")),
            max_attempts=int(env.get("AEP2_ALERT_MAX_ATTEMPTS", "10")),
            backoff_base=float(env.get("AEP2_ALERT_BACKOFF", "5")),
            lease=float(lease) if lease else None,
        )
    except ValueError as exc:
        raise ConfigurationError(f"alert sender settings: {exc}") from None
