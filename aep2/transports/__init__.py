"""The x402 HTTP, MCP and A2A integrations: they carry mandates between the payer and the payee.

The protocol pieces both ends share live below them in ``aep2.protocol``.
"""
