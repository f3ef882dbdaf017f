"""The real escrow stack for the payee and end-to-end tests: ``deploy_stack`` on an anvil, funded payers.

Built on :class:`tests.test_escrow_integration.World` (deposits through ``TestUSDC``, settlements
proven by the attestation stand-in verifier), with helpers the payee's tests need on top.
"""

from __future__ import annotations

from eth_account import Account
from web3 import Web3

from aep2.chain import Pair, SettlementResult, attestation_verifier, deploy_stack
from aep2.devnet import Anvil
from tests.test_escrow_integration import DELAY, VERIFIER_ID, World

__all__ = ["World", "make_world", "new_payer", "settle"]


def make_world(anvil: Anvil) -> World:
    """Deploy escrow, ``TestUSDC`` and an attestation verifier on ``anvil`` (its keys 0 and 1)."""
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 30}))
    owner, attester, *keys = anvil.private_keys
    spec = attestation_verifier(VERIFIER_ID, 16, 8, Account.from_key(attester).address)
    stack = deploy_stack(w3, owner, verifiers=[spec], withdraw_delay=DELAY)
    return World(w3, stack, stack.escrow_client(w3), stack.token_client(w3), owner, attester, keys)


def new_payer(world: World, *, key: bytes | None = None) -> bytes:
    """A payer account (fresh unless ``key`` is given) with gas money from the owner."""
    account = Account.from_key(key) if key is not None else Account.create()
    tx = {"from": world.address(world.owner), "to": account.address, "value": 10**18}
    world.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
    return bytes(account.key)


def settle(
    world: World, payer: str, payee_key: bytes, from_nonce: int, to_nonce: int, total: int
) -> SettlementResult:
    """The payee settles one (payer, payee) pair on chain, proven by the attestation stand-in."""
    payee = world.address(new_payer(world, key=payee_key))  # gas money for the payee's own transaction
    settlement = world.settlement(Pair.build(payer, payee, from_nonce, to_nonce, total))
    return world.escrow.submit_settlement(world.prove(settlement), settlement, payee_key)
