"""Drive M paid calls through aep2 and measure what each one costs, exactly as x402 ``exact`` is measured.

One call is what the payer SDK does in production: ``GET /paid`` → ``402`` with
``PAYMENT-REQUIRED`` offering scheme ``aep2`` → :class:`~aep2.transports.httpx_auth.Aep2Auth`
recomputes the call's ref, runs the payer's policy, commits a nonce in the payer's SQLite journal
and signs the mandate → retry with ``PAYMENT-SIGNATURE`` → the payee's check (the chain read
through its cached escrow view), the commit of the mandate, and the answer ``200`` with
``PAYMENT-RESPONSE`` carrying the payee's signed receipt, which the SDK verifies. No transaction is
sent: the mandates wait in the payee's store to be settled in a batch, which is a later phase
(keep the store with ``db_path``).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
from eth_account import Account
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3 import Web3
from web3.types import TxParams

import aep2.settlement.models  # noqa: F401  (the settlement tables join the schema)
from aep2.chain import EscrowClient, TokenClient, send
from aep2.devnet import Anvil
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.store import MandateRow, MandateState, create_schema, make_engine
from aep2.transports.httpx_auth import Aep2Auth, Payment, payment_of
from benchmarks._calls import WARMUP_CALLS, Call, Phases, latency_figures, measure
from benchmarks._server import ServerProcess
from benchmarks._timing import Distribution

SCHEME = "aep2"
SERVE_MODULE = "benchmarks.aep2_calls.serve"
GAS_MONEY = 10**18
"""Wei each payer gets from the funder: payers send their own ``approve`` and ``deposit``."""


@dataclass(frozen=True)
class Aep2CallsResult:
    """Per-call aep2 measured on one anvil, field for field as :class:`BaselineResult`. Times in ms.

    ``payee_*``: the payee process's own handling time (request in → response start), read from
    its ``Server-Timing`` header; for a paid call it covers the whole check and the commit of the
    mandate. ``client_*``: what the calling agent waits, both round trips of the 402 handshake and
    the payer's policy, nonce journal and signature included. ``added_*``: paid minus unpaid.
    ``payee_paid`` and ``client_paid`` are the sequential phase; the samples hold both phases.
    """

    scheme: str
    network: str
    escrow: str
    token: str
    price: int
    calls: int
    concurrency: int
    block_time: float | None
    payee_unpaid: Distribution
    payee_paid: Distribution
    added_payee_median_ms: float
    added_payee_p99_ms: float
    client_unpaid: Distribution
    client_paid: Distribution
    added_client_median_ms: float
    sequential_calls_per_s: float
    concurrent_calls_per_s: float
    paid_calls: int
    """Every paid call, warm-up included; each came back ``200`` with a verified receipt."""
    accepted_mandates: int
    """Mandates in the payee's store, state ``accepted``, counted after the run."""
    transactions_during_calls: int
    """Transactions mined while the calls ran: 0, settlement is a later, batched phase."""
    deposit_per_payer: int
    """What each payer deposited into the escrow before the run: every paid call fits in it."""
    payer_addresses: list[str]
    payee_address: str
    db_path: str | None
    """The payee's SQLite store holding the accepted mandates, when the caller asked to keep it."""
    paid_payee_ms: list[float] = field(repr=False)
    """The payee's handling time of every measured paid call, sequential then concurrent."""
    paid_client_ms: list[float] = field(repr=False)
    unpaid_payee_ms: list[float] = field(repr=False)
    unpaid_client_ms: list[float] = field(repr=False)

    def to_dict(self, *, samples: bool = False) -> dict[str, Any]:
        """Summary figures; with ``samples``, also every call's timings (for plots)."""
        out = asdict(self)
        if not samples:
            for name in ("paid_payee_ms", "paid_client_ms", "unpaid_payee_ms", "unpaid_client_ms"):
                del out[name]
        return out


def derived_key(label: str) -> bytes:
    """A deterministic devnet key per role, apart from the x402 baseline's and anything else on the
    same anvil. Never a real key."""
    return bytes(Web3.keccak(text=f"aep2 calls {label}"))


def run_aep2_calls(
    anvil: Anvil,
    escrow: str,
    token: str,
    *,
    calls: int = 50,
    concurrency: int = 4,
    price: int = 1_000,
    funder_key: bytes | None = None,
    db_path: Path | None = None,
) -> Aep2CallsResult:
    """Pay ``calls`` calls sequentially, then ``calls`` more from ``concurrency`` payers at once,
    each through aep2 against ``escrow`` in ``token`` on ``anvil``, and measure them.

    ``funder_key`` gives each payer gas money (default: anvil's second-to-last account; the x402
    baseline uses the last). Payers and the payee are fresh derived accounts; each payer mints,
    approves and deposits enough for every call. ``db_path`` keeps the payee's store (it must not
    exist yet) for a later settlement phase; without it the store is temporary. Raises if any paid
    call is refused or comes back without a verified receipt. Synchronous: it runs its own event
    loop, so call it from plain code or a worker thread.
    """
    if calls < 1 or concurrency < 1 or price < 1:
        raise ValueError(f"calls, concurrency and price must be positive: {calls}, {concurrency}, {price}")
    if db_path is not None and db_path.exists():
        raise FileExistsError(f"{db_path} exists: the payee's store must start empty")
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))
    escrow_client, usdc = EscrowClient.at(w3, escrow), TokenClient.at(w3, token)
    payee_key = derived_key("payee")
    payer_keys = [derived_key(f"payer {i}") for i in range(concurrency)]
    payee = Account.from_key(payee_key).address
    payers = [Account.from_key(key).address for key in payer_keys]
    _refuse_settled_pairs(escrow_client, payers, payee)
    deposit = price * (2 * calls + WARMUP_CALLS)
    for key in payer_keys:
        fund_payer(usdc, escrow_client, key, deposit, funder_key or anvil.private_keys[-2])

    policy = Policy(
        max_per_payment=price, allowed_payees=(payee,), allowed_tokens=(usdc.address,),
        allowed_chains=(anvil.chain_id,), allowed_escrows=(escrow_client.address,),
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aep2-calls-") as tmp:
        # absolute: the payee process runs from the repository root, not from our working directory
        store = (db_path or Path(tmp) / "payee.db").resolve()
        database_url = create_store(store)
        first_block = w3.eth.block_number
        server = payee_server(
            anvil, escrow_client.address, usdc.address, payee_key, price=price, database_url=database_url
        )
        with server as payee_url:
            phases = _measure_payers(payee_url, payer_keys, policy, Path(tmp), anvil.chain_id, calls)
        transactions = _transactions_since(w3, first_block)
        for call in phases.paid:
            _receipted(call)
        accepted = _accepted(database_url, payee)
    return _summarize(
        phases, escrow=escrow_client.address, token=usdc.address, chain_id=anvil.chain_id, price=price,
        concurrency=concurrency, block_time=anvil.block_time, accepted=accepted,
        transactions=transactions, deposit=deposit, payers=payers, payee=payee,
        db_path=None if db_path is None else str(store),
    )  # fmt: skip


def payee_server(
    anvil: Anvil, escrow: str, token: str, payee_key: bytes, *, price: int, database_url: str
) -> ServerProcess:
    """The payee as its own uvicorn process (enter it for its URL), storing in ``database_url``."""
    settings = {
        "rpc_url": anvil.rpc_url, "chain_id": anvil.chain_id, "escrow": escrow, "token": token,
        "payee_key": "0x" + payee_key.hex(), "price": price, "database_url": database_url,
    }  # fmt: skip
    return ServerProcess(SERVE_MODULE, settings)


def create_store(path: Path) -> str:
    """An empty payee store (every table, the settlement pipeline's included) at ``path``; its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        create_schema(engine)
    finally:
        engine.dispose()
    return url


def _refuse_settled_pairs(escrow: EscrowClient, payers: list[str], payee: str) -> None:
    """The payers' nonce journals start fresh, at 1: a pair with settled mandates would refuse them."""
    settled = {payer: mark for payer in payers if (mark := escrow.high_water(payer, payee))}
    if settled:
        raise RuntimeError(
            f"escrow {escrow.address} already settled mandates of these payers to {payee} "
            f"(high-water marks {settled}); run against a fresh escrow"
        )


def fund_payer(
    usdc: TokenClient, escrow: EscrowClient, payer_key: bytes, amount: int, funder_key: bytes
) -> None:
    payer = Account.from_key(payer_key).address
    gas_money = {"to": payer, "value": GAS_MONEY, "gasPrice": usdc.w3.eth.gas_price}
    send(usdc.w3, cast(TxParams, gas_money), funder_key)
    usdc.mint(payer, amount, payer_key)
    usdc.approve(escrow.address, amount, payer_key)
    escrow.deposit(usdc.address, amount, payer_key)


def _measure_payers(
    payee_url: str, keys: list[bytes], policy: Policy, journals: Path, chain_id: int, calls: int
) -> Phases:
    """One :class:`Payer` per key, each with its own nonce journal and audit log under ``journals``."""
    payers = [Payer(LocalKeySigner(k), policy, db=journals / f"payer{i}.db") for i, k in enumerate(keys)]
    try:
        return asyncio.run(_measure(payee_url, payers, chain_id, calls))
    finally:
        for payer in payers:
            payer.close()


async def _measure(payee_url: str, payers: list[Payer], chain_id: int, calls: int) -> Phases:
    """One httpx client per payer, paying with the payer SDK's ``Aep2Auth``."""
    clients = [
        httpx.AsyncClient(base_url=payee_url, auth=Aep2Auth(payer, chain_id=chain_id), timeout=60)
        for payer in payers
    ]
    try:
        return await measure(payee_url, clients, calls)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def _receipted(call: Call) -> Payment:
    """The aep2 payment of a paid call, whose receipt the SDK verified; raises otherwise."""
    payment = payment_of(call.response)
    if payment.receipt is None:
        raise RuntimeError(f"paid call without a verified receipt: {payment.error}")
    return payment


def _transactions_since(w3: Web3, block: int) -> int:
    latest = w3.eth.block_number
    return sum(len(w3.eth.get_block(n)["transactions"]) for n in range(block + 1, latest + 1))


def _accepted(database_url: str, payee: str) -> int:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            query = select(func.count()).where(
                MandateRow.payee == payee, MandateRow.state == MandateState.ACCEPTED.value
            )
            return session.scalar(query) or 0
    finally:
        engine.dispose()


def _summarize(
    phases: Phases,
    *,
    escrow: str,
    token: str,
    chain_id: int,
    price: int,
    concurrency: int,
    block_time: float | None,
    accepted: int,
    transactions: int,
    deposit: int,
    payers: list[str],
    payee: str,
    db_path: str | None,
) -> Aep2CallsResult:
    measured = phases.sequential + phases.concurrent
    return Aep2CallsResult(
        scheme=SCHEME,
        network=f"eip155:{chain_id}",
        escrow=escrow,
        token=token,
        price=price,
        concurrency=concurrency,
        block_time=block_time,
        **latency_figures(phases),
        paid_calls=len(phases.paid),
        accepted_mandates=accepted,
        transactions_during_calls=transactions,
        deposit_per_payer=deposit,
        payer_addresses=payers,
        payee_address=payee,
        db_path=db_path,
        paid_payee_ms=[c.payee_ms for c in measured],
        paid_client_ms=[c.client_ms for c in measured],
        unpaid_payee_ms=[c.payee_ms for c in phases.unpaid],
        unpaid_client_ms=[c.client_ms for c in phases.unpaid],
    )
