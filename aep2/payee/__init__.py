"""The payee: the check of DESIGN.md and its FastAPI, x402, MCP and A2A integrations."""

from aep2.payee.app import create_app
from aep2.payee.chain_view import ChainView, PayerPosition, StaticChainView
from aep2.payee.check import Acceptance, PayeeCheck
from aep2.payee.config import A2aSkill, McpTool, Route, Settings, load_settings
from aep2.payee.web import PaymentRequiredError, charge

__all__ = [
    "A2aSkill",
    "Acceptance",
    "ChainView",
    "McpTool",
    "PayeeCheck",
    "PayerPosition",
    "PaymentRequiredError",
    "Route",
    "Settings",
    "StaticChainView",
    "charge",
    "create_app",
    "load_settings",
]
