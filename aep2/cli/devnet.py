"""``aep2 devnet up | status | env | down``: a funded local chain described by one JSON file.

A thin shell over :mod:`aep2.devnet.local_chain`; every subcommand touches only a chain on
127.0.0.1 or localhost.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aep2.devnet.local_chain import UpOptions, dev_key_sizes, devnet_down, devnet_status, devnet_up
from aep2.devnet.state import default_path, read_state

devnet_app = typer.Typer(
    help="A local chain (anvil) with aep2 deployed and payers funded.", no_args_is_help=True
)

FileOption = Annotated[
    Path | None, typer.Option("--file", "-f", help="the devnet file [$AEP2_HOME/devnet.json]", dir_okay=False)
]


@devnet_app.command()
def up(
    file: FileOption = None,
    port: Annotated[int | None, typer.Option(help="anvil's port [a free one]")] = None,
    payers: Annotated[int, typer.Option(min=0, help="fresh payer accounts to fund")] = 2,
    deposit: Annotated[
        int, typer.Option(min=1, help="each payer's escrow deposit, token base units")
    ] = 100_000_000,
) -> None:
    """Start anvil (detached), deploy token, escrow and verifiers, fund payers, write the devnet file."""
    console = Console(stderr=True)
    path = file or default_path()
    if not dev_key_sizes():
        from aep2.demo.prereqs import ensure_keys  # aep2.demo's package imports the whole demo

        ensure_keys(console)  # the N=1, P=1 single-party dev keys, announced as such
    state = devnet_up(UpOptions(path=path, port=port, payers=payers, deposit=deposit), console.print)
    sizes = ", ".join(f"N={v.n} P={v.p}" for v in state.verifiers)
    console.print(
        "[bold red]Verifiers from SINGLE-PARTY DEV KEYS[/] "
        f"({sizes}): whoever ran the setup can forge proofs. Local development only."
    )
    console.print(
        f"escrow {state.escrow}, token {state.token}, payee {state.payee.address}, "
        f"{len(state.payers)} payer(s) with {state.deposit:,} deposited each"
    )
    typer.echo(str(path))


@devnet_app.command()
def status(file: FileOption = None) -> None:
    """Is the devnet's anvil alive and answering; its block, the payers' balances, the payee's credit."""
    report = devnet_status(file or default_path())
    state = report.state
    if not report.alive:
        typer.echo(f"devnet {state.rpc_url}: not running (anvil pid {state.anvil_pid})")
        raise typer.Exit(1)
    typer.echo(f"devnet {state.rpc_url}: running (anvil pid {state.anvil_pid}), block {report.block}")
    typer.echo(f"escrow {state.escrow}, token {state.token}")
    for payer in report.payers:
        typer.echo(f"payer {payer.address}: escrow {payer.escrow_balance:,}, wallet {payer.token_balance:,}")
    typer.echo(f"payee {state.payee.address}: credit {report.payee_credit:,}")


@devnet_app.command()
def env(file: FileOption = None) -> None:
    """Print the worker's AEP2_* environment as shell exports: eval "$(aep2 devnet env)"."""
    state = read_state(file or default_path())
    for name, value in state.env.items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@devnet_app.command()
def down(file: FileOption = None) -> None:
    """Stop the devnet's anvil by its recorded PID and remove the devnet file."""
    path = file or default_path()
    stopped = devnet_down(path)
    typer.echo(f"stopped the devnet of {path}" if stopped else f"no anvil was running; removed {path}")
