"""Gas per payment at each circuit size, against one x402 ``exact`` transfer, on one anvil.

    python -m benchmarks.gas_by_size

One stack (token, escrow) is deployed with, per circuit size (N mandate slots, P pair slots), an
``AttestationVerifier`` stand-in under its own verifier id, and for the *real* sizes also gnark's
exported ``BatchVerifierN{N}P{P}`` under another id. Real sizes default to those of ``sizes`` whose
dev keys exist (``aep2.prover.keys_dir(N, P)``, i.e. ``$AEP2_HOME/circuits/aep2-batch-<version>-nN-pP``)
and whose verifier, exported from those keys, builds; any other is skipped with its reason recorded.

Each size is filled two ways, each on a fresh payee (so its pairs have never been settled):

- ``one_pair``: N mandates from one payer, nonces consecutive, one pair;
- ``full_pairs``: P payers, N/P mandates each, P pairs.

Every filling is settled twice on the same pairs with the stand-in, one proof per ``settle``
transaction: the first is *cold* (each pair's high-water mark and the payee's credit go from zero
to non-zero), the second *warm* (the steady state of a payee that settles every window). A real
size's pairs are then settled a third time, warm again, with a real Groth16 proof from
``aep2-prover``; its cold settlement is left to the stand-in because the escrow keeps one
high-water mark per (payer, payee), whichever verifier settled it (``Escrow.highWater``).
Gas is the receipt's ``gasUsed``; per payment is that over the N mandates.

**Composition.** ``verifier_delta`` is warm Groth16 gas minus warm stand-in gas on the same pairs
of the smallest real size's one-pair filling (N=1, P=1 after ``make groth16``). Every size without
keys reports ``groth16_gas = attestation_gas_warm + verifier_delta`` (``source = "composed"``);
real sizes report what they measured (``"measured"``) and record ``composed_minus_measured``. The
composition is exact up to calldata noise because everything else the swap changes is the same at
every size: gnark's exported verifier is straight-line code whose work is fixed by the number of
public inputs (one: the settlement hash) and Pedersen commitments (one at every size; see each
size's ``info.json``); the precompiles it calls (``ecAdd``, ``ecMul``, ``ecPairing``) are priced by
call and pair count, never by value; its proof is 384 bytes at every N, against the stand-in's 65;
and the escrow's own work (hashing the settlement, the per-pair writes) is identical for both
verifiers. What remains is (a) proof bytes that happen to be zero (4 instead of 16 gas each, ~1.5
of 384 random bytes), and (b) the escrow's quadratic memory cost of copying the longer proof into
the verifier call above the packed settlement (64 + 72·P bytes), a few gas at P=32. The second
real filling at N=1, P=1 (``full_pairs``, the same shape) measures that noise directly; with keys
for a second size, its ``composed_minus_measured`` checks the claim across N, and a difference
beyond ``COMPOSITION_TOLERANCE`` raises :class:`CompositionError` instead of reporting composed
figures. Checked with dev keys for N=2, P=1 too (circuit v2, ``aep2-prover setup --dev --n 2 --p 1``,
150 s): composed minus measured was +36 and 0 gas for its two fillings, -12 for N=1's second
filling, each a multiple of 12, the price gap of a zero calldata byte.

**Accounts.** Payer keys are created fresh per call (``Account.create``), so the pairs are new even on
a shared anvil; they hold no ETH: ``anvil.private_keys[0]`` deploys, mints their TestUSDC and
relays their ``depositWithAuthorization``, submits every settlement and relays the x402 transfers.
Payees are fresh addresses that never send a transaction. The x402 figure is the second of two
``transferWithAuthorization`` calls into one merchant (non-zero balance, the steady state); the
first is recorded as ``x402_transfer_gas_cold``. Writes ``benchmarks/results/gas_by_size.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eth_account import Account
from web3 import Web3

import aep2.devnet
from aep2.chain import (
    Pair,
    VerifierSpec,
    attestation_verifier,
    deploy_stack,
)
from aep2.devnet.verifier import verifier_artifact
from aep2.errors import ConfigurationError
from aep2.prover import ProverProcess
from benchmarks._gas_chain import (
    Bench,
    fund_payer,
    new_payee,
    next_run,
    settle_attested,
    settle_proved,
    x402_transfers,
)
from benchmarks._timing import write_results

Size = tuple[int, int]

DEFAULT_SIZES: tuple[Size, ...] = ((1, 1), (2, 1), (4, 2), (8, 4), (16, 8), (32, 16), (64, 32))
ONE_PAIR = "one_pair"
FULL_PAIRS = "full_pairs"
FILLINGS = (ONE_PAIR, FULL_PAIRS)
COMPOSITION_TOLERANCE = 250  # gas: ~20 zero bytes, ten times the noise seen
GROTH16_ID_OFFSET = 100  # size i uses stand-in id i + 1 and Groth16 id i + 1 + this


class CompositionError(AssertionError):
    """A real size's measured Groth16 gas is not its composed figure: composition does not hold."""


def _plain(data: dict[str, Any]) -> dict[str, object]:
    """``asdict``'s output with tuples as lists: what JSON gives back."""

    def convert(value: object) -> object:
        if isinstance(value, tuple | list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in data.items()}


@dataclass(frozen=True)
class GasRow:
    """One size and filling: what a settle transaction cost, cold and warm, and per payment."""

    n: int
    p: int
    filling: str
    pairs_used: int
    mandates: int
    attestation_gas_cold: int
    attestation_gas_warm: int
    attestation_gas_per_payment: float  # warm stand-in gas / mandates: the escrow's share alone
    groth16_gas: int | None  # warm; None without a real size to compose from
    source: str | None  # "measured" | "composed"
    gas_per_payment: float | None  # groth16_gas / mandates
    ratio_vs_x402: float | None  # x402 transfer gas / gas_per_payment: > 1 means aep2 is cheaper
    composed_minus_measured: int | None  # real sizes other than the reference row only
    payee: str
    payers: tuple[str, ...]
    settlements: int  # times these pairs were settled: 2, or 3 with the real proof

    def to_dict(self) -> dict[str, object]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class GasBySize:
    """Every row, the composition's reference, and the x402 ``exact`` transfer it is compared with."""

    rows: tuple[GasRow, ...]
    verifier_delta: int | None
    verifier_delta_size: Size | None
    x402_transfer_gas: int
    x402_transfer_gas_cold: int
    real_sizes: tuple[Size, ...]
    skipped_real: tuple[tuple[int, int, str], ...]
    escrow: str
    token: str
    amount: int
    deposit: int

    def row(self, n: int, p: int, filling: str) -> GasRow:
        return next(r for r in self.rows if (r.n, r.p, r.filling) == (n, p, filling))

    def to_dict(self) -> dict[str, object]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class _Measured:
    n: int
    p: int
    filling: str
    pairs: tuple[Pair, ...]  # of the last settlement
    cold: int
    warm: int
    real: int | None

    @property
    def mandates(self) -> int:
        return sum(pair.to_nonce - pair.from_nonce for pair in self.pairs)


def _layout(n: int, p: int, filling: str) -> list[int]:
    """Mandates per pair."""
    return [n] if filling == ONE_PAIR else [n // p] * p


def _check_sizes(sizes: Sequence[Size]) -> None:
    for n, p in sizes:
        if p < 1 or n < p or n % p:
            raise ValueError(f"size N={n}, P={p}: need 1 <= P <= N with P dividing N")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"sizes repeat: {list(sizes)}")


def _resolve_real(
    sizes: Sequence[Size], real_sizes: Iterable[Size] | None
) -> tuple[dict[Size, VerifierSpec], list[tuple[int, int, str]]]:
    """Groth16 specs for the real sizes that have keys and a verifier; the reasons for the others."""
    candidates = list(sizes) if real_sizes is None else list(real_sizes)
    if stray := [s for s in candidates if s not in sizes]:
        raise ValueError(f"real sizes {stray} are not among the measured sizes {list(sizes)}")
    found: dict[Size, VerifierSpec] = {}
    skipped: list[tuple[int, int, str]] = []
    for n, p in candidates:
        try:
            artifact = verifier_artifact(n, p)
        except ConfigurationError as exc:
            skipped.append((n, p, str(exc)))
            continue
        gid = sizes.index((n, p)) + 1 + GROTH16_ID_OFFSET
        found[(n, p)] = VerifierSpec(gid, n, p, artifact)
    return found, skipped


def _measure(
    bench: Bench, index: int, size: Size, filling: str, real: tuple[VerifierSpec, ProverProcess] | None
) -> _Measured:
    """Cold and warm with the stand-in, then (for a real size) warm again with a Groth16 proof."""
    n, p = size
    payee = new_payee(bench)
    layout = _layout(n, p, filling)
    pairs = tuple(
        Pair(Account.from_key(key).address, payee, 0, k, k * bench.amount)
        for key, k in zip(bench.payers, layout, strict=False)
    )
    cold = settle_attested(bench, index + 1, pairs)
    pairs = next_run(pairs)
    warm = settle_attested(bench, index + 1, pairs)
    measured_real = None
    if real is not None:
        pairs = next_run(pairs)
        spec, prover = real
        measured_real = settle_proved(bench, spec, pairs, prover)
    return _Measured(n, p, filling, pairs, cold, warm, measured_real)


def _row(m: _Measured, delta: int | None, x402: int, *, is_reference: bool) -> GasRow:
    composed = None if delta is None else m.warm + delta
    groth16 = m.real if m.real is not None else composed
    per_payment = None if groth16 is None else groth16 / m.n
    return GasRow(
        n=m.n,
        p=m.p,
        filling=m.filling,
        pairs_used=len(m.pairs),
        mandates=m.mandates,
        attestation_gas_cold=m.cold,
        attestation_gas_warm=m.warm,
        attestation_gas_per_payment=m.warm / m.n,
        groth16_gas=groth16,
        source=None if groth16 is None else "measured" if m.real is not None else "composed",
        gas_per_payment=per_payment,
        ratio_vs_x402=None if per_payment is None else x402 / per_payment,
        # the reference row is 0 by construction, so it checks nothing and is left out
        composed_minus_measured=None
        if m.real is None or composed is None or is_reference
        else composed - m.real,
        payee=m.pairs[0].payee,
        payers=tuple(pair.payer for pair in m.pairs),
        settlements=3 if m.real is not None else 2,
    )


def measure_gas_by_size(
    w3: Web3,
    anvil: aep2.devnet.Anvil,
    *,
    sizes: Sequence[Size] = DEFAULT_SIZES,
    real_sizes: Iterable[Size] | None = None,
    amount: int = 1_000,
) -> GasBySize:
    """Deploy one stack on ``anvil`` and measure every size and filling (see the module docstring).

    ``real_sizes=None`` proves every size of ``sizes`` that has keys and a verifier; ``[]`` none.
    Takes ~25-40 s per real proof at N=1 on top of a few seconds of anvil transactions.
    """
    sizes = list(sizes)
    _check_sizes(sizes)
    real, skipped = _resolve_real(sizes, real_sizes)
    key, attester = anvil.private_keys[0], bytes(Account.create().key)
    attester_address = Account.from_key(attester).address
    stand_ins = [attestation_verifier(i + 1, n, p, attester_address) for i, (n, p) in enumerate(sizes)]
    stack = deploy_stack(w3, key, verifiers=[*stand_ins, *real.values()])
    payers = tuple(bytes(Account.create().key) for _ in range(max(p for _, p in sizes)))
    escrow, token = stack.escrow_client(w3), stack.token_client(w3)
    bench = Bench(w3, escrow, token, key, attester, dict(stack.verifiers), payers, amount)
    deposit = 3 * amount * sum(n + n // p for n, p in sizes)  # the most any payer can owe
    for payer in payers:
        fund_payer(bench, payer, deposit)
    x402_cold, x402_warm = x402_transfers(bench)
    measured = _measure_all(bench, sizes, real)
    candidates = [m for m in measured if m.real is not None and m.filling == ONE_PAIR]
    reference = min(candidates, key=lambda m: (m.n, m.p), default=None)
    delta = None if reference is None or reference.real is None else reference.real - reference.warm
    rows = tuple(_row(m, delta, x402_warm, is_reference=m is reference) for m in measured)
    _check_composition(rows)
    return GasBySize(
        rows=rows,
        verifier_delta=delta,
        verifier_delta_size=None if reference is None else (reference.n, reference.p),
        x402_transfer_gas=x402_warm,
        x402_transfer_gas_cold=x402_cold,
        real_sizes=tuple(real),
        skipped_real=tuple(skipped),
        escrow=bench.escrow.address,
        token=bench.token.address,
        amount=amount,
        deposit=deposit,
    )


def _check_composition(rows: Sequence[GasRow]) -> None:
    """Raise unless every measured row that checks the composition agrees with it."""
    if bad := [r for r in rows if abs(r.composed_minus_measured or 0) > COMPOSITION_TOLERANCE]:
        found = ", ".join(f"N={r.n} P={r.p} {r.filling}: {r.composed_minus_measured:+}" for r in bad)
        raise CompositionError(f"composed minus measured Groth16 gas beyond {COMPOSITION_TOLERANCE}: {found}")


def _measure_all(bench: Bench, sizes: Sequence[Size], real: dict[Size, VerifierSpec]) -> list[_Measured]:
    """Every size and filling, in order; one prover process (keys loaded once) for the real ones."""
    measured: list[_Measured] = []
    prover = ProverProcess() if real else None
    try:
        for i, size in enumerate(sizes):
            spec = real.get(size)
            proving = None if spec is None or prover is None else (spec, prover)
            measured.extend(_measure(bench, i, size, filling, proving) for filling in FILLINGS)
    finally:
        if prover is not None:
            prover.close()
    return measured


def _gas(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


_COLUMNS: tuple[tuple[str, int, Callable[[GasRow], str]], ...] = (
    ("N", 3, lambda r: str(r.n)),
    ("P", 3, lambda r: str(r.p)),
    ("filling", 10, lambda r: r.filling),
    ("pairs", 5, lambda r: str(r.pairs_used)),
    ("stand-in cold", 13, lambda r: _gas(r.attestation_gas_cold)),
    ("stand-in warm", 13, lambda r: _gas(r.attestation_gas_warm)),
    ("/payment", 8, lambda r: _gas(r.attestation_gas_per_payment)),
    ("groth16 warm", 12, lambda r: _gas(r.groth16_gas)),
    ("source", 8, lambda r: r.source or "-"),
    ("gas/payment", 11, lambda r: _gas(r.gas_per_payment)),
    ("x402/aep2", 9, lambda r: "-" if r.ratio_vs_x402 is None else f"{r.ratio_vs_x402:.2f}x"),
)


def format_table(result: GasBySize) -> str:
    """The rows as a fixed-width table, then the composition's reference and the x402 figure."""
    header = " ".join(f"{name:>{width}}" for name, width, _ in _COLUMNS)
    lines = [header, "-" * len(header)]
    lines += [" ".join(f"{cell(r):>{width}}" for _, width, cell in _COLUMNS) for r in result.rows]
    lines.append(
        f"verifier delta (Groth16 - stand-in, warm, one pair at N,P={result.verifier_delta_size}): "
        f"{_gas(result.verifier_delta)}"
    )
    lines += [
        f"composed - measured at N={r.n}, P={r.p} {r.filling}: {r.composed_minus_measured:+}"
        for r in result.rows
        if r.composed_minus_measured is not None
    ]
    lines.append(
        f"x402 exact transferWithAuthorization: {result.x402_transfer_gas:,} warm, "
        f"{result.x402_transfer_gas_cold:,} cold"
    )
    lines += [f"real N={n}, P={p} skipped: {why}" for n, p, why in result.skipped_real]
    return "\n".join(lines)


def main() -> None:
    with aep2.devnet.Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        result = measure_gas_by_size(w3, node)
    print(format_table(result))
    print(f"wrote {write_results('gas_by_size', result.to_dict())}")


if __name__ == "__main__":
    main()
