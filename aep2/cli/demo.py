"""``aep2 demo``: the main job on a local chain."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console


def run(
    agent_calls: Annotated[
        int, typer.Option(min=1, help="paid calls of the agent-key payer (http, mcp, a2a in turn)")
    ] = 64,
    payers: Annotated[
        int, typer.Option(min=0, help="EIP-712 payers beside the agent (one N=1 proof per call)")
    ] = 0,
    calls: Annotated[int, typer.Option(min=1, help="paid calls per EIP-712 payer")] = 1,
) -> None:
    """Run the end-to-end demo on a local anvil; everything started is stopped, also on Ctrl-C.

    An agent key streams paid calls over HTTP, MCP and A2A (64 fill one agent proof); EIP-712
    payers may pay beside it; one window, one settleMany, and its gas against per-call x402 exact."""
    from aep2.demo import (
        DemoConfig,
        run_demo,
    )  # here: its imports (a2a, mcp, celery) cost every command seconds

    console = Console()
    try:
        summary = run_demo(console, DemoConfig(agent_calls=agent_calls, payers=payers, calls=calls))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: everything the demo started is stopped[/]")
        raise typer.Exit(code=130) from None
    if summary.mandate_states != {"settled": summary.calls_paid}:
        console.print(f"[red]not every mandate settled: {summary.mandate_states}[/]")
        raise typer.Exit(code=1)
