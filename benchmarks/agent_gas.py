"""Agent keys: gas per payment with real Groth16 proofs, and proving per circuit size, on one anvil.

    python -m benchmarks.agent_gas [--streaming 1x1,64x8,512x8,1024x8] [--scattered 8x8,16x8,64x32]

Two workloads, each proved at every size listed for it with the agent family's real dev keys
(``aep2-prover setup --dev --family agent``, cached under ``$AEP2_HOME/circuits/<id>``: set up, and
measured, only the first time) and settled through its real exported ``AgentVerifierN{N}P{P}``:

- **streaming**: one agent key pays one payee N mandates, one pair of the circuit's P;
- **scattered**: P payers, each with its own agent key, pay one payee N/P mandates each.

Each filling runs on a fresh payee. Its pairs are first settled *cold* through the agent family's
``AttestationVerifier`` stand-in (each (key, payee) high-water mark, the key's ``spent`` and the
payee's credit go from zero to non-zero), then the agents sign the next N mandates, ``aep2-prover``
proves them and the real verifier settles them *warm* with ``settleAgent``: the steady state of a
payee that settles every window, and the figure reported (``source: measured``); gas per payment is
that receipt's ``gasUsed`` over the N mandates.

Proving is measured per size in a fresh ``aep2-prover serve``: seconds to load the keys, then per
proof wall and CPU seconds, and the process's peak resident memory (``VmHWM``, keys and proving).
A size whose keys would not fit ``--memory-budget-gib`` (or the memory available now), estimated
from its constraint count, is skipped with that reason; so is one whose prover fails.
Writes ``benchmarks/results/agent_gas.json``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_account import Account
from web3 import Web3

import aep2.devnet
from aep2.chain import VerifierFamily, VerifierSpec, attestation_verifier, deploy_stack
from aep2.devnet.verifier import verifier_artifact
from aep2.prover import ProverError, circuit_id
from benchmarks._agent_chain import (
    agent_request,
    first_run,
    grant_agent_payers,
    settle_agent_attested,
    settle_agent_checked,
)
from benchmarks._agent_circuits import (
    MeteredProver,
    SetupRecord,
    constraint_count,
    ensure_keys,
)
from benchmarks._gas_chain import Bench, new_payee, x402_transfers
from benchmarks._timing import write_results

Size = tuple[int, int]
STREAMING = "streaming"
SCATTERED = "scattered"
DEFAULT_STREAMING: tuple[Size, ...] = ((1, 1), (64, 8), (512, 8), (1024, 8))
DEFAULT_SCATTERED: tuple[Size, ...] = ((8, 8), (16, 8), (64, 32))
MEMORY_BUDGET_GIB = 16.0
BYTES_PER_CONSTRAINT = 1_300
"""Peak memory per constraint of the agent family's dev setup, the larger of setup and proving: 1,223
measured at 1024x8 (v4: 10,428 MiB for 8.94M constraints), with a margin; a size is judged by it
before anything runs."""
STAND_IN_ID, REAL_ID_OFFSET = 1, 100  # size i: stand-in verifier i + 1, real verifier i + 1 + offset
PROVE_TIMEOUT_S = 1_800.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AgentGasRow:
    """One workload at one size: the real-proof settlement's gas, per payment and against x402."""

    workload: str
    n: int
    p: int
    pairs_used: int
    mandates: int
    mandates_per_pair: int
    stand_in_cold_gas: int  # the first settlement of these pairs, through the stand-in
    gas: int  # warm settleAgent with the real proof and verifier
    gas_per_payment: float
    ratio_vs_x402: float  # x402 exact transfer gas / gas_per_payment: > 1 means aep2 is cheaper
    prove_s: float
    prove_cpu_s: float
    payee: str
    key_ids: tuple[int, ...]
    source: str = "measured"


@dataclass(frozen=True)
class ProvingRecord:
    """One size's keys and prover: setup (this run or cached), key loading, proofs, peak memory."""

    n: int
    p: int
    circuit_id: str
    constraints: int
    setup: SetupRecord
    key_load_s: float
    prove_s: tuple[float, ...]  # one per workload proved at this size
    prove_cpu_s: tuple[float, ...]
    peak_rss_mib: int  # serve's VmHWM after loading the keys and proving

    @property
    def prove_s_per_mandate(self) -> float:
        return max(self.prove_s) / self.n


@dataclass(frozen=True)
class AgentGas:
    rows: tuple[AgentGasRow, ...]
    proving: tuple[ProvingRecord, ...]
    skipped: tuple[tuple[int, int, str], ...]
    memory_budget_gib: float
    x402_transfer_gas: int
    escrow: str
    token: str
    amount: int
    workloads: dict[str, list[Size]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for record, out in zip(self.proving, data["proving"], strict=True):
            out["prove_s_per_mandate"] = record.prove_s_per_mandate
        return data


def _check(sizes: Sequence[Size]) -> None:
    for n, p in sizes:
        if p < 1 or n < p or n % p:
            raise ValueError(f"size {n}x{p}: need 1 <= P <= N with P dividing N")


def _mem_available_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        line = next(x for x in meminfo if x.startswith("MemAvailable:"))
    return int(line.split()[1]) * 1024


def _too_big(constraints: int, budget_gib: float) -> str | None:
    """Why a size with ``constraints`` should not run here, or None."""
    need = constraints * BYTES_PER_CONSTRAINT
    if need > budget_gib * 2**30:
        return (
            f"needs ~{need / 2**30:.1f} GiB ({constraints:,} constraints), over the {budget_gib:g} GiB budget"
        )
    if need > _mem_available_bytes():
        return f"needs ~{need / 2**30:.1f} GiB, {_mem_available_bytes() / 2**30:.1f} GiB available now"
    return None


def _prepare(
    sizes: Sequence[Size], budget_gib: float, progress: Progress
) -> tuple[dict[Size, SetupRecord], list[tuple[int, int, str]]]:
    """Keys for every size that fits, set up one after the other (never two big setups at once)."""
    ready: dict[Size, SetupRecord] = {}
    skipped: list[tuple[int, int, str]] = []
    for n, p in sizes:
        if reason := _too_big(constraint_count(n, p), budget_gib):
            progress(f"  agent {n}x{p}: skipped, {reason}")
            skipped.append((n, p, reason))
            continue
        progress(f"  agent {n}x{p}: keys …")
        record = ensure_keys(n, p)
        progress(
            f"  agent {n}x{p}: keys "
            + (f"set up in {record.seconds} s, {record.peak_rss_mib} MiB peak" if record.ran else "cached")
        )
        ready[(n, p)] = record
    return ready, skipped


def _deploy(w3: Web3, key: bytes, sizes: Sequence[Size], progress: Progress) -> Bench:
    """One stack with, per size, the agent stand-in and the real exported verifier."""
    attester = bytes(Account.create().key)
    family, specs = VerifierFamily.AGENT, []
    for i, (n, p) in enumerate(sizes):
        progress(f"  agent {n}x{p}: exported verifier …")
        address = Account.from_key(attester).address
        specs.append(attestation_verifier(STAND_IN_ID + i, n, p, address, family=family))
        artifact = verifier_artifact(n, p, "agent")
        specs.append(VerifierSpec(STAND_IN_ID + i + REAL_ID_OFFSET, n, p, artifact, family=family))
    stack = deploy_stack(w3, key, verifiers=specs)
    escrow, token = stack.escrow_client(w3), stack.token_client(w3)
    return Bench(w3, escrow, token, key, attester, dict(stack.verifiers), (), 1_000)


def _fill(
    bench: Bench, index: int, size: Size, workload: str, prover: MeteredProver, x402: int
) -> AgentGasRow:
    """One workload at one size: cold through the stand-in, then warm with a real proof."""
    n, p = size
    pairs, per_pair = (1, n) if workload == STREAMING else (p, n // p)
    payee = new_payee(bench)
    payers = grant_agent_payers(bench, payee, pairs, deposit=2 * per_pair * bench.amount)
    cold = settle_agent_attested(
        bench, STAND_IN_ID + index, first_run(bench, STAND_IN_ID + index, payers, payee, per_pair), payers
    )
    request, settlement = agent_request(
        bench, STAND_IN_ID + index + REAL_ID_OFFSET, payers, payee, from_nonce=per_pair, per_pair=per_pair
    )
    cpu, started = prover.cpu_seconds(), time.monotonic()
    proof = prover.prove(request, n=n, p=p)
    prove_s, prove_cpu_s = time.monotonic() - started, prover.cpu_seconds() - cpu
    gas = settle_agent_checked(bench, proof.proof_bytes, settlement, payers)
    return AgentGasRow(
        workload=workload, n=n, p=p, pairs_used=pairs, mandates=n, mandates_per_pair=per_pair,
        stand_in_cold_gas=cold, gas=gas, gas_per_payment=gas / n, ratio_vs_x402=x402 * n / gas,
        prove_s=round(prove_s, 2), prove_cpu_s=round(prove_cpu_s, 1), payee=payee,
        key_ids=tuple(p.key_id for p in payers),
    )  # fmt: skip


def _prove_size(
    bench: Bench, index: int, size: Size, workloads: Sequence[str], setup: SetupRecord, x402: int,
    progress: Progress,
) -> tuple[list[AgentGasRow], ProvingRecord]:  # fmt: skip
    """Every workload of one size in one fresh prover process, whose peak memory is the size's."""
    n, p = size
    prover = MeteredProver(timeout=PROVE_TIMEOUT_S)
    try:
        started = time.monotonic()
        prover.request("load", {"n": n, "p": p, "family": "agent"})
        key_load_s = round(time.monotonic() - started, 2)
        rows = []
        for workload in workloads:
            progress(f"  agent {n}x{p} {workload}: proving …")
            row = _fill(bench, index, size, workload, prover, x402)
            progress(
                f"  agent {n}x{p} {workload}: proved in {row.prove_s:.1f} s ({row.prove_cpu_s:.0f} CPU-s), "
                f"settled for {row.gas:,} gas, {row.gas_per_payment:,.0f} per payment"
            )
            rows.append(row)
        peak = prover.peak_rss_mib()
    finally:
        prover.close()
    record = ProvingRecord(
        n, p, circuit_id(n, p, "agent"), setup.constraints, setup, key_load_s,
        tuple(r.prove_s for r in rows), tuple(r.prove_cpu_s for r in rows), peak,
    )  # fmt: skip
    progress(f"  agent {n}x{p}: keys loaded in {key_load_s} s, prover peak {peak / 1024:.1f} GiB")
    return rows, record


def measure_agent_gas(
    w3: Web3,
    anvil: aep2.devnet.Anvil,
    *,
    streaming: Sequence[Size] = DEFAULT_STREAMING,
    scattered: Sequence[Size] = DEFAULT_SCATTERED,
    memory_budget_gib: float = MEMORY_BUDGET_GIB,
    x402_transfer_gas: int | None = None,
    progress: Progress = print,
) -> AgentGas:
    """Set up (or reuse) keys, deploy, and measure every workload at every size that fits.

    ``x402_transfer_gas`` is the per-call x402 figure the rows are compared with; by default two
    EIP-3009 transfers are measured on this stack and the warm one is used.
    """
    _check([*streaming, *scattered])
    sizes = sorted(set(streaming) | set(scattered), key=lambda s: (s[0] * s[1], s))
    ready, skipped = _prepare(sizes, memory_budget_gib, progress)
    bench = _deploy(w3, anvil.private_keys[0], list(ready), progress)
    x402 = x402_transfer_gas if x402_transfer_gas is not None else x402_transfers(bench)[1]
    rows: list[AgentGasRow] = []
    proving: list[ProvingRecord] = []
    for index, (size, setup) in enumerate(ready.items()):
        workloads = [w for w, listed in ((STREAMING, streaming), (SCATTERED, scattered)) if size in listed]
        try:
            size_rows, record = _prove_size(bench, index, size, workloads, setup, x402, progress)
        except ProverError as exc:
            progress(f"  agent {size[0]}x{size[1]}: prover failed: {exc}")
            skipped.append((*size, f"prover failed: {exc}"))
            continue
        rows += size_rows
        proving.append(record)
    return AgentGas(
        rows=tuple(rows), proving=tuple(proving), skipped=tuple(skipped), memory_budget_gib=memory_budget_gib,
        x402_transfer_gas=x402, escrow=bench.escrow.address, token=bench.token.address, amount=bench.amount,
        workloads={STREAMING: list(streaming), SCATTERED: list(scattered)},
    )  # fmt: skip


def parse_sizes(text: str) -> tuple[Size, ...]:
    """``"1x1,64x8"`` → ``((1, 1), (64, 8))``; an empty string is no size."""
    return tuple((int(n), int(p)) for n, p in (s.split("x") for s in text.split(",") if s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streaming", type=parse_sizes, default=DEFAULT_STREAMING, help="sizes NxP")
    parser.add_argument("--scattered", type=parse_sizes, default=DEFAULT_SCATTERED, help="sizes NxP")
    parser.add_argument("--memory-budget-gib", type=float, default=MEMORY_BUDGET_GIB)
    args = parser.parse_args()
    with aep2.devnet.Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 120}))
        result = measure_agent_gas(
            w3, node, streaming=args.streaming, scattered=args.scattered,
            memory_budget_gib=args.memory_budget_gib,
        )  # fmt: skip
    print(f"wrote {write_results('agent_gas', result.to_dict())} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
