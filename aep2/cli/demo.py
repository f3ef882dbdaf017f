"""``aep2 demo``: the main job on a local chain."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from aep2.demo import run_demo


def run(calls: Annotated[int, typer.Option(help="paid calls to make")] = 3) -> None:
    """Run the end-to-end demo on a local anvil; everything started is stopped, also on Ctrl-C."""
    rows = run_demo(Console(), calls=calls)
    if not all(row.chain_agrees for row in rows):
        raise typer.Exit(code=1)
