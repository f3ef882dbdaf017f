"""The main job, end to end on a local chain.

For now it exercises what exists: a real anvil, the mandate contract, and
mandates signed in Python and checked by the chain. Later stages (escrow,
proving, settlement) join as they land.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from eth_account import Account
from eth_hash.auto import keccak
from rich.console import Console
from rich.table import Table
from web3 import Web3

from aep2.chain import deploy, load_artifact
from aep2.devnet import Anvil
from aep2.mandate import Domain, Mandate, decode, encode
from aep2.transports.call_ref import http_ref


@dataclass(frozen=True)
class DemoRow:
    nonce: int
    amount: int
    header_bytes: int
    verify_us: float
    chain_agrees: bool


def _sign_and_check(w3: Web3, digester: object, domain: Domain, key: bytes, nonce: int) -> DemoRow:
    payer = Account.from_key(key).address
    mandate = Mandate.build(
        payer=payer,
        payee="0x" + keccak(b"demo payee")[-20:].hex(),
        token="0x" + keccak(b"demo token")[-20:].hex(),
        amount=1_000 * nonce,
        nonce=nonce,
        deadline=int(time.time()) + 3_600,
        ref=http_ref("GET", f"http://127.0.0.1/api/answer?q={nonce}"),
    )
    header = encode(mandate.sign(domain, key))
    started = time.perf_counter()
    signed = decode(header)
    signed.verify()
    verify_us = (time.perf_counter() - started) * 1e6
    call = (
        mandate.payer,
        mandate.payee,
        mandate.token,
        mandate.amount,
        mandate.nonce,
        mandate.deadline,
        mandate.ref,
    )
    on_chain = digester.functions.recover(call, signed.signature).call()  # type: ignore[attr-defined]
    return DemoRow(nonce, mandate.amount, len(header), verify_us, on_chain == payer)


def run_demo(console: Console, *, calls: int = 3) -> list[DemoRow]:
    """Start anvil, deploy the mandate contract, sign and verify ``calls`` mandates, stop anvil."""
    with Anvil() as chain:
        console.print(f"[bold]anvil[/] on {chain.rpc_url} (pid {chain.pid})")
        w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
        digester = deploy(w3, load_artifact("MandateDigester"), private_key=chain.private_keys[0])
        domain = Domain(chain_id=w3.eth.chain_id, escrow=digester.address)
        console.print(f"mandate contract at {digester.address}")
        rows = [_sign_and_check(w3, digester, domain, chain.private_keys[1], n) for n in range(1, calls + 1)]
    console.print("anvil stopped")
    table = Table(title="mandates signed in Python, verified off-chain and by the chain")
    for column in ("nonce", "amount", "header bytes", "verify µs", "chain agrees"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.nonce),
            str(row.amount),
            str(row.header_bytes),
            f"{row.verify_us:.0f}",
            str(row.chain_agrees),
        )
    console.print(table)
    return rows
