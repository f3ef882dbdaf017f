"""The demo's figures, read back from the store and the chain, and their rich rendering.

Balances, credit and high-water marks come from the escrow contract, gas from the mined
``settleMany`` receipts: the summary shows what the chain says happened, not what we meant.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aep2.chain import EscrowClient
from aep2.devnet import repo_root
from aep2.settlement.models import ChunkRow, WindowRow
from aep2.store import MandateRow

X402_EXACT_GAS = 68_312
"""Gas of one x402 ``exact`` (EIP-3009) payment on anvil, measured by ``benchmarks/x402_baseline``."""


def x402_gas_per_payment() -> tuple[int, str]:
    """The measured per-payment gas from ``benchmarks/results/x402_baseline.json``, else the constant."""
    path = repo_root() / "benchmarks" / "results" / "x402_baseline.json"
    try:
        return int(json.loads(path.read_text())["gas_per_payment_median"]), f"measured, {path.name}"
    except (OSError, KeyError, ValueError, TypeError):
        return X402_EXACT_GAS, "constant: no benchmarks/results/x402_baseline.json"


@dataclass(frozen=True)
class PayerFigures:
    address: str
    deposited: int
    balance: int
    high_water: int
    calls: int


@dataclass(frozen=True)
class DemoSummary:
    calls_paid: int
    per_transport: dict[str, int]
    mandate_states: dict[str, int]
    windows: int
    chunks: int
    proof_bytes: int
    proving_seconds: list[float]
    settle_gas: int
    tx_hashes: list[str]
    x402_gas: int
    x402_source: str
    payee: str
    payee_credit: int
    payers: list[PayerFigures]
    wall_seconds: float

    @property
    def gas_per_mandate(self) -> float:
        return self.settle_gas / max(1, self.calls_paid)


def collect(
    engine: Engine,
    escrow: EscrowClient,
    token: str,
    payee: str,
    payers: list[tuple[str, int, int]],
    window_ids: list[int],
    calls_paid: int,
    wall_seconds: float,
) -> DemoSummary:
    """``payers`` is (address, deposited, calls made) per payer."""
    with Session(engine) as s:
        rows = list(s.scalars(select(MandateRow)))
        windows = list(s.scalars(select(WindowRow).where(WindowRow.id.in_(window_ids))))
        chunks = list(s.scalars(select(ChunkRow).where(ChunkRow.window_id.in_(window_ids))))
    proofs = [len(bytes.fromhex(c.proof.removeprefix("0x"))) for c in chunks if c.proof]
    x402_gas, source = x402_gas_per_payment()
    return DemoSummary(
        calls_paid=calls_paid,
        per_transport=dict(Counter(r.transport for r in rows)),
        mandate_states=dict(Counter(r.state for r in rows)),
        windows=len(windows),
        chunks=len(chunks),
        proof_bytes=max(proofs, default=0),
        proving_seconds=[c.proving_seconds for c in chunks if c.proving_seconds is not None],
        settle_gas=sum(w.gas_used or 0 for w in windows),
        tx_hashes=[w.tx_hash for w in windows if w.tx_hash],
        x402_gas=x402_gas,
        x402_source=source,
        payee=payee,
        payee_credit=escrow.payee_balance(payee, token),
        payers=[
            PayerFigures(a, dep, escrow.balance(a, token), escrow.high_water(a, payee), n)
            for a, dep, n in payers
        ],
        wall_seconds=wall_seconds,
    )


def render(console: Console, s: DemoSummary) -> None:
    main = Table(title="aep2 demo: paid calls, proved and settled on chain", show_header=False)
    main.add_column(style="bold")
    main.add_column(justify="right")
    proving = s.proving_seconds
    x402_total = s.x402_gas * s.calls_paid
    rows = [
        ("calls paid", str(s.calls_paid)),
        ("mandates per transport", ", ".join(f"{k} {v}" for k, v in sorted(s.per_transport.items()))),
        ("mandate states", ", ".join(f"{k} {v}" for k, v in sorted(s.mandate_states.items()))),
        ("windows / settleMany txs", f"{s.windows} / {len(s.tx_hashes)}"),
        ("chunks (Groth16 proofs, N=1 P=1)", str(s.chunks)),
        ("proof size", f"{s.proof_bytes} bytes"),
        (
            "proving time",
            f"{sum(proving):.1f} s total, {sum(proving) / max(1, len(proving)):.1f} s per proof",
        ),
        ("settlement gas", f"{s.settle_gas:,}"),
        ("gas per mandate", f"{s.gas_per_mandate:,.0f}"),
        (f"same payments as x402 exact ({s.x402_gas:,} gas each, {s.x402_source})", f"{x402_total:,}"),
        ("aep2 / x402 gas", f"{s.settle_gas / max(1, x402_total):.2f}x"),
        ("payee credit in escrow", f"{s.payee_credit:,}"),
        ("wall time", f"{s.wall_seconds:.1f} s"),
    ]
    for name, value in rows:
        main.add_row(name, value)
    console.print(main)
    console.print(
        "[dim]At N=1 every mandate carries its own Groth16 proof and pairing check, so this circuit "
        "size costs more gas than x402's exact; larger circuits (N mandates per proof) amortise it.[/]"
    )
    payers = Table(title=f"payers after settlement (read from the escrow; payee {s.payee})")
    payers.add_column("payer", overflow="fold")
    for column in ("calls", "deposited", "balance", "high-water nonce"):
        payers.add_column(column, justify="right")
    for p in s.payers:
        payers.add_row(p.address, str(p.calls), f"{p.deposited:,}", f"{p.balance:,}", str(p.high_water))
    console.print(payers)
