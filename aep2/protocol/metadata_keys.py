"""Where the x402 conventions put a payment in MCP and A2A messages: one definition for both sides.

- MCP (x402 MCP convention): the payload in ``params._meta["x402/payment"]`` of ``tools/call``,
  the settle response in the result's ``_meta["x402/payment-response"]``.
- A2A (x402 A2A extension v0.2): message metadata keys ``x402.payment.*``; amounts stay strings.
"""

from __future__ import annotations

from typing import Final

MCP_PAYMENT: Final = "x402/payment"
MCP_PAYMENT_RESPONSE: Final = "x402/payment-response"

A2A_EXTENSION_URI: Final = "https://github.com/google-agentic-commerce/a2a-x402/blob/main/spec/v0.2"
A2A_STATUS: Final = "x402.payment.status"
A2A_REQUIRED: Final = "x402.payment.required"
A2A_PAYLOAD: Final = "x402.payment.payload"
A2A_RECEIPTS: Final = "x402.payment.receipts"
A2A_ERROR: Final = "x402.payment.error"
