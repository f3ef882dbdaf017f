"""The main job end to end on a local chain (``make demo`` / ``aep2 demo``).

anvil, the escrow stack with the exported Groth16 verifier, a paid API (HTTP, MCP, A2A), agents
paying for calls, a Celery worker proving the window with gnark, one ``settleMany``, a summary.
"""

from aep2.demo.run import DEPOSIT, PRICE, DemoChain, DemoConfig, run_demo
from aep2.demo.summary import DemoSummary

__all__ = ["DEPOSIT", "PRICE", "DemoChain", "DemoConfig", "DemoSummary", "run_demo"]
