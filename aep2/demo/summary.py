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
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.chain import EscrowClient
from aep2.devnet import repo_root
from aep2.settlement.models import ChunkMandateRow, ChunkRow, WindowRow
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
class PayerSpec:
    """A demo payer as ``collect`` reads it back: ``key_id`` when it paid with an agent key."""

    address: str
    deposited: int
    calls: int
    key_id: int | None = None


@dataclass(frozen=True)
class PayerFigures:
    address: str
    deposited: int
    balance: int
    high_water: int  # of (payer, payee), or of (agent key, payee) for an agent payer
    calls: int
    key_id: int | None = None
    key_spent: int | None = None  # what the escrow counts against the agent key's cap


@dataclass(frozen=True)
class ChunkFigures:
    family: str
    n: int
    p: int
    mandates: int
    proving_seconds: float | None


@dataclass(frozen=True)
class DemoSummary:
    calls_paid: int
    per_transport: dict[str, int]
    mandate_states: dict[str, int]
    windows: int
    chunks: list[ChunkFigures]
    proof_bytes: int
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

    @property
    def proving_seconds(self) -> list[float]:
        return [c.proving_seconds for c in self.chunks if c.proving_seconds is not None]

    @property
    def x402_ratio(self) -> float:
        """x402 ``exact``'s gas for the same payments over aep2's: above 1, aep2 is cheaper."""
        return self.x402_gas * self.calls_paid / max(1, self.settle_gas)


def collect(
    engine: Engine,
    escrow: EscrowClient,
    token: str,
    payee: str,
    payers: list[PayerSpec],
    window_ids: list[int],
    calls_paid: int,
    wall_seconds: float,
) -> DemoSummary:
    with Session(engine) as s:
        rows = list(s.scalars(select(MandateRow)))
        windows = list(s.scalars(select(WindowRow).where(WindowRow.id.in_(window_ids))))
        chunks = list(s.scalars(select(ChunkRow).where(ChunkRow.window_id.in_(window_ids))))
        sizes = dict(
            s.execute(
                select(ChunkMandateRow.chunk_id, func.count())
                .where(ChunkMandateRow.chunk_id.in_([c.id for c in chunks]))
                .group_by(ChunkMandateRow.chunk_id)
            ).all()
        )
    proofs = [len(bytes.fromhex(c.proof.removeprefix("0x"))) for c in chunks if c.proof]
    x402_gas, source = x402_gas_per_payment()
    return DemoSummary(
        calls_paid=calls_paid,
        per_transport=dict(Counter(r.transport for r in rows)),
        mandate_states=dict(Counter(r.state for r in rows)),
        windows=len(windows),
        chunks=[ChunkFigures(c.family, c.n, c.p, int(sizes.get(c.id, 0)), c.proving_seconds) for c in chunks],
        proof_bytes=max(proofs, default=0),
        settle_gas=sum(w.gas_used or 0 for w in windows),
        tx_hashes=[w.tx_hash for w in windows if w.tx_hash],
        x402_gas=x402_gas,
        x402_source=source,
        payee=payee,
        payee_credit=escrow.payee_balance(payee, token),
        payers=[_payer_figures(escrow, token, payee, p) for p in payers],
        wall_seconds=wall_seconds,
    )


def _payer_figures(escrow: EscrowClient, token: str, payee: str, p: PayerSpec) -> PayerFigures:
    balance = escrow.balance(p.address, token)
    if p.key_id is None:
        return PayerFigures(p.address, p.deposited, balance, escrow.high_water(p.address, payee), p.calls)
    info = escrow.agent_key(p.key_id)
    spent = info.spent if info is not None else None
    mark = escrow.agent_high_water(p.key_id, payee)
    return PayerFigures(p.address, p.deposited, balance, mark, p.calls, p.key_id, spent)


def _chunks_line(chunks: list[ChunkFigures]) -> str:
    tally = Counter((c.family, c.n, c.p, c.mandates) for c in chunks)
    return ", ".join(
        f"{count} x {family} N={n} P={p} ({mandates} mandates)"
        for (family, n, p, mandates), count in sorted(tally.items())
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
        ("chunks (Groth16 proofs)", _chunks_line(s.chunks)),
        ("proof size", f"{s.proof_bytes} bytes"),
        (
            "proving time",
            f"{sum(proving):.1f} s total, {sum(proving) / max(1, len(proving)):.1f} s per proof",
        ),
        ("settlement gas", f"{s.settle_gas:,}"),
        ("gas per payment", f"{s.gas_per_mandate:,.0f}"),
        (f"same payments as x402 exact ({s.x402_gas:,} gas each, {s.x402_source})", f"{x402_total:,}"),
        ("aep2 vs x402 exact, gas", _ratio(s.x402_ratio)),
        ("payee credit in escrow", f"{s.payee_credit:,}"),
        ("wall time", f"{s.wall_seconds:.1f} s"),
    ]
    for name, value in rows:
        main.add_row(name, value)
    console.print(main)
    console.print(
        "[dim]One pairing check per proof: an agent proof shares it among all its mandates (EdDSA, "
        "~8k constraints each), an EIP-712 proof of N=1 spends it on one (~600k constraints).[/]"
    )
    payers = Table(title=f"payers after settlement (read from the escrow; payee {s.payee})")
    payers.add_column("payer", no_wrap=True)
    for column in ("pays with", "calls", "deposited", "balance", "high-water nonce", "key spent"):
        payers.add_column(column, justify="right")
    for p in s.payers:
        kind = "EIP-712" if p.key_id is None else f"agent key #{p.key_id}"
        spent = "" if p.key_spent is None else f"{p.key_spent:,}"
        short = f"{p.address[:8]}…{p.address[-6:]}"  # the full address is in the escrow's events
        payers.add_row(
            short, kind, str(p.calls), f"{p.deposited:,}", f"{p.balance:,}", str(p.high_water), spent
        )
    console.print(payers)


def _ratio(x402_over_aep2: float) -> str:
    if x402_over_aep2 >= 1:
        return f"{x402_over_aep2:.1f}x less than x402 exact"
    return f"{1 / x402_over_aep2:.1f}x more than x402 exact"
