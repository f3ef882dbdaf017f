"""Drive M paid calls through real per-call x402 ``exact`` and measure what each one costs.

One call is what the SDK's httpx client does in production: ``GET /paid`` → ``402`` with
``PAYMENT-REQUIRED`` → sign an EIP-3009 ``TransferWithAuthorization`` → retry with
``PAYMENT-SIGNATURE`` → the payee asks the facilitator to verify, serves, asks it to settle, and
the facilitator sends ``transferWithAuthorization`` and waits for the receipt before the payee
answers with ``PAYMENT-RESPONSE``. So every paid call is one on-chain transaction, and a call's
response time is also its time to settlement.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import httpx
from eth_account import Account
from web3 import Web3
from x402 import SpendControlAsset, SpendControls, x402Client
from x402 import __version__ as x402_version
from x402.http import decode_payment_response_header
from x402.http.clients import x402HttpxClient
from x402.mechanisms.evm.exact import register_exact_evm_client
from x402.mechanisms.evm.signers import EthAccountSigner

from aep2.chain import TokenClient
from aep2.devnet import Anvil
from benchmarks._calls import WARMUP_CALLS, Call, Phases, latency_figures, measure
from benchmarks._timing import Distribution
from benchmarks.x402_baseline._serve import ServerProcess

__all__ = ["WARMUP_CALLS", "BaselineResult", "Distribution", "Payment", "derived_key", "run_baseline"]


@dataclass(frozen=True)
class Payment:
    """One paid call: its settlement transaction and what the client and the payee timed."""

    tx_hash: str
    gas_used: int
    block_number: int
    client_ms: float
    payee_ms: float


@dataclass(frozen=True)
class BaselineResult:
    """Per-call x402 ``exact`` measured on one anvil. Times in milliseconds, gas per payment.

    ``payee_*``: the payee process's own handling time (request in → response start), read from
    its ``Server-Timing`` header; for a paid call it covers verify, the handler and settlement.
    ``client_*``: what the calling agent waits, both round trips of the 402 handshake included.
    ``added_*``: paid minus unpaid, the latency payment adds to a call.
    """

    scheme: str
    network: str
    x402_sdk: str
    price: int
    calls: int
    concurrency: int
    block_time: float | None
    gas_per_payment_median: float
    gas_per_payment_min: int
    gas_per_payment_max: int
    payee_unpaid: Distribution
    payee_paid: Distribution
    added_payee_median_ms: float
    added_payee_p99_ms: float
    client_unpaid: Distribution
    client_paid: Distribution
    added_client_median_ms: float
    call_to_settlement: Distribution
    sequential_calls_per_s: float
    concurrent_calls_per_s: float
    transactions_per_payment: float
    paid_calls: int
    payee_received: int
    payers_paid: int
    payments: list[Payment] = field(repr=False)
    """Every measured paid call, sequential then concurrent: its transaction, gas and timings."""
    unpaid_payee_ms: list[float] = field(repr=False)
    """The payee's handling time of every unpaid call, for distribution plots."""

    def to_dict(self, *, samples: bool = False) -> dict[str, Any]:
        """Summary figures; with ``samples``, also every payment and every unpaid timing."""
        out = asdict(self)
        if not samples:
            del out["payments"], out["unpaid_payee_ms"]
        return out


def derived_key(label: str) -> bytes:
    """A deterministic devnet key per role, so the baseline's accounts start empty and apart from
    whatever else runs on the same anvil. Never a real key."""
    return bytes(Web3.keccak(text=f"aep2 x402 baseline {label}"))


def _paying_client(
    base_url: str, payer_key: bytes, network: str, token: str, price: int
) -> httpx.AsyncClient:
    """The SDK's httpx client for one payer; TestUSDC is opted in as a production client would
    opt in any token that is not a default asset, capped at the price."""
    x402 = x402Client()
    cap = SpendControlAsset(network=network, asset=token, max_amount_per_payment=str(price))
    x402.set_spend_controls(SpendControls(allowed_assets=[cap]))
    register_exact_evm_client(x402, EthAccountSigner(Account.from_key(payer_key)), networks=network)
    return cast(httpx.AsyncClient, x402HttpxClient(x402, base_url=base_url, timeout=120))


async def _measure(
    payee_url: str, payer_keys: list[bytes], network: str, token: str, price: int, calls: int
) -> Phases:
    clients = [_paying_client(payee_url, key, network, token, price) for key in payer_keys]
    try:
        return await measure(payee_url, clients, calls)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def _settlement_tx(call: Call) -> str:
    """The transaction the facilitator settled ``call``'s payment with; raises if it did not."""
    header = call.response.headers.get("payment-response")
    if header is None:
        raise RuntimeError(f"paid call answered without PAYMENT-RESPONSE: {call.response.text[:300]}")
    settled = decode_payment_response_header(header)
    if not settled.success:
        raise RuntimeError(f"settlement failed: {settled.error_reason} {settled.error_message}")
    return str(settled.transaction)


def _receipts(w3: Web3, calls: list[Call]) -> list[Payment]:
    payments = []
    for call in calls:
        tx_hash = _settlement_tx(call)
        receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        if receipt["status"] != 1:
            raise RuntimeError(f"settlement transaction {tx_hash} reverted")
        payments.append(
            Payment(tx_hash, receipt["gasUsed"], receipt["blockNumber"], call.client_ms, call.payee_ms)
        )
    return payments


def run_baseline(
    anvil: Anvil,
    token: str,
    *,
    calls: int = 50,
    concurrency: int = 4,
    price: int = 1_000,
    facilitator_key: bytes | None = None,
) -> BaselineResult:
    """Pay ``calls`` calls sequentially, then ``calls`` more from ``concurrency`` clients at once,
    each through real x402 ``exact`` on ``anvil`` in ``token`` (``TestUSDC`` or any token with
    USDC's EIP-3009 surface and domain), and measure them.

    ``facilitator_key`` sends the settlements and the faucet mints (default: anvil's last
    account, so it does not race another component's nonces on key 0). Payers and the payee are
    fresh derived accounts; payers need no ETH, as with x402 they never send a transaction.
    Synchronous: it runs its own event loop, so call it from plain code or a worker thread.
    """
    if calls < 1 or concurrency < 1 or price < 1:
        raise ValueError(f"calls, concurrency and price must be positive: {calls}, {concurrency}, {price}")
    network = f"eip155:{anvil.chain_id}"
    facilitator_key = facilitator_key or anvil.private_keys[-1]
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))
    usdc = TokenClient.at(w3, token)
    payer_keys = [derived_key(f"payer {i}") for i in range(concurrency)]
    accounts = [Account.from_key(derived_key("payee")).address]
    accounts += [Account.from_key(k).address for k in payer_keys]
    for payer in accounts[1:]:
        usdc.mint(payer, price * (2 * calls + WARMUP_CALLS), facilitator_key)
    before = [usdc.balance_of(a) for a in accounts]

    facilitator = {"rpc_url": anvil.rpc_url, "private_key": facilitator_key.hex(), "network": network}
    with ServerProcess("facilitator", facilitator) as facilitator_url:
        payee = {
            "facilitator_url": facilitator_url, "token": usdc.address, "pay_to": accounts[0],
            "price": price, "network": network,
        }  # fmt: skip
        with ServerProcess("payee", payee) as payee_url:
            phases = asyncio.run(_measure(payee_url, payer_keys, network, usdc.address, price, calls))

    moved = [after - was for after, was in zip((usdc.balance_of(a) for a in accounts), before, strict=True)]
    return _summarize(
        phases,
        _receipts(w3, phases.sequential + phases.concurrent),
        network=network,
        price=price,
        concurrency=concurrency,
        block_time=anvil.block_time,
        payee_received=moved[0],
        payers_paid=-sum(moved[1:]),
    )


def _summarize(
    phases: Phases,
    payments: list[Payment],
    *,
    network: str,
    price: int,
    concurrency: int,
    block_time: float | None,
    payee_received: int,
    payers_paid: int,
) -> BaselineResult:
    gas = [p.gas_used for p in payments]
    latency = latency_figures(phases)
    return BaselineResult(
        scheme="exact",
        network=network,
        x402_sdk=x402_version,
        price=price,
        concurrency=concurrency,
        block_time=block_time,
        gas_per_payment_median=statistics.median(gas),
        gas_per_payment_min=min(gas),
        gas_per_payment_max=max(gas),
        call_to_settlement=latency["client_paid"],
        **latency,
        transactions_per_payment=len({p.tx_hash for p in payments}) / len(payments),
        paid_calls=2 * latency["calls"] + WARMUP_CALLS,
        payee_received=payee_received,
        payers_paid=payers_paid,
        payments=payments,
        unpaid_payee_ms=[c.payee_ms for c in phases.unpaid],
    )
