"""``aep2 demo``: the main job on a local chain."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console


def run(
    payers: Annotated[int, typer.Option(min=1, help="paying agents")] = 1,
    calls: Annotated[int, typer.Option(min=1, help="paid calls per payer (http, mcp, a2a in turn)")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, help="a window closes when this many mandates wait")] = 64,
) -> None:
    """Run the end-to-end demo on a local anvil; everything started is stopped, also on Ctrl-C."""
    from aep2.demo import (
        DemoConfig,
        run_demo,
    )  # here: its imports (a2a, mcp, celery) cost every command seconds

    console = Console()
    try:
        summary = run_demo(console, DemoConfig(payers=payers, calls=calls, batch_size=batch_size))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: everything the demo started is stopped[/]")
        raise typer.Exit(code=130) from None
    if summary.mandate_states != {"settled": summary.calls_paid}:
        console.print(f"[red]not every mandate settled: {summary.mandate_states}[/]")
        raise typer.Exit(code=1)
