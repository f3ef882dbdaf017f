"""``aep2 worker``, ``aep2 settle --now`` and ``aep2 status``: the settlement pipeline's operations.

Configuration comes from the environment (see :mod:`aep2.settlement.config`); the lead wires
these as ``app.command("worker")(worker)`` etc.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from aep2.errors import ConfigurationError

console = Console()


def existing_store(db: str | None, config: Path | None) -> Engine:
    """The store ``--db``, ``--config`` or ``AEP2_DATABASE_URL`` names; never a new, empty one."""
    import aep2.settlement.models  # noqa: F401  (the settlement tables join the store's metadata)
    from aep2.payee.config import load_settings
    from aep2.store.engine import database_url, make_engine

    url = db or (load_settings(config).database_url if config is not None else None)
    resolved = make_url(database_url(url))
    if resolved.get_backend_name() == "sqlite" and not Path(resolved.database or "").is_file():
        raise ConfigurationError(
            f"no aep2 store at {resolved.database}: pass --db URL or --config payee.yaml "
            "(or set AEP2_DATABASE_URL) for a store a payee has written"
        )
    engine = make_engine(resolved.render_as_string(hide_password=False))
    if not inspect(engine).has_table("mandates"):
        raise ConfigurationError(f"{resolved.render_as_string()} holds no aep2 store (no mandates table)")
    return engine


def worker(
    queues: Annotated[str, typer.Option(help="queues to consume")] = "prove,submit,reconcile",
    concurrency: Annotated[int, typer.Option(help="worker processes (each owns one prover)")] = 1,
    loglevel: Annotated[str, typer.Option()] = "INFO",
    beat: Annotated[
        bool, typer.Option(help="also run the periodic tick (close due windows, reconcile)")
    ] = True,
) -> None:
    """Start a Celery worker for the settlement pipeline (broker: AEP2_BROKER_URL, else embedded)."""
    # imported by name: workers/ sits above the library (and Celery ships no type information)
    celery_app = importlib.import_module("workers.celery").app
    celery_app.worker_main(
        [
            "worker",
            f"--queues={queues}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--pool=prefork",
            *(["--beat"] if beat else []),
        ]
    )


def settle(
    now: Annotated[bool, typer.Option("--now", help="close a window and settle it in this process")] = False,
    payee: Annotated[str | None, typer.Option(help="only this payee's mandates")] = None,
) -> None:
    """Close a window by hand and settle it here: prove every chunk, submit, apply the receipt."""
    from aep2.settlement import pipeline
    from aep2.settlement.config import PipelineConfig

    if not now:
        raise typer.BadParameter("only --now is supported: windows otherwise close on the worker's schedule")
    config = PipelineConfig.from_env()
    engine, chain = config.engine(), config.chain()
    closed = pipeline.close_window(
        engine, chain, config.sizes, payee=payee, headroom_below=config.headroom_below
    )
    console.print(f"failed by the planner: {list(closed.failed)}; waiting: {len(closed.waiting)}")
    if closed.window_id is None:
        console.print("nothing to settle")
        return
    prover = config.make_prover(chain)
    for chunk_id in closed.chunk_ids:
        for _ in range(pipeline.DEFAULT_MAX_PROVE_ATTEMPTS):
            out = pipeline.prove_chunk(engine, chunk_id, prover, chain)
            console.print(f"chunk {chunk_id}: {out.status} {out.error or ''}")
            if out.status != "retry":
                break
    result = pipeline.submit_window(engine, closed.window_id, chain)
    console.print(f"window {closed.window_id}: {result.status} tx={result.tx_hash} gas={result.gas_used}")


def status(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="a payee.yaml: its database_url is the store")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="the store's URL (wins over --config)")] = None,
) -> None:
    """Windows, chunks, mandates by state, the oldest pending mandate and per-payer exposure."""
    from aep2.settlement.status import snapshot

    snap = snapshot(existing_store(db, config))
    counts = Table(title="mandates by state")
    counts.add_column("state")
    counts.add_column("count", justify="right")
    for state, n in sorted(snap.counts.items()):
        counts.add_row(state, str(n))
    counts.caption = f"oldest pending: {snap.oldest_pending or '-'}"
    console.print(counts)
    windows = Table(title="windows")
    for col in ("id", "state", "closed_at", "tx", "gas", "error"):
        windows.add_column(col)
    for w in snap.windows:
        windows.add_row(
            *(
                str(w[k]) if w[k] is not None else "-"
                for k in ("id", "state", "closed_at", "tx", "gas", "error")
            )
        )
    console.print(windows)
    chunks = Table(title="chunks")
    for col in ("id", "window", "index", "size", "state", "attempts", "seconds", "error"):
        chunks.add_column(col)
    for c in snap.chunks:
        chunks.add_row(*(str(c[k]) if c[k] is not None else "-" for k in c))
    console.print(chunks)
    exposure = Table(title="exposure (unsettled) per payer")
    for col in ("payer", "token", "unsettled"):
        exposure.add_column(col)
    for row in snap.exposure:
        exposure.add_row(*row)
    console.print(exposure)
