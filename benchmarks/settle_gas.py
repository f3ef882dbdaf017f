"""Gas of settling through the real Groth16 verifier against per-call EIP-3009 transfers, one anvil.

    python -m benchmarks.settle_gas [--pairs K]

Settles K single-mandate chunks of the N=1, P=1 circuit (real proofs from ``aep2-prover``) in one
``settleMany``, on pairs that are settled for the first time (cold) and again (warm), and sends
the same payments as ``transferWithAuthorization`` calls, the per-call x402 ``exact`` path.
Needs ``make groth16``. Writes ``benchmarks/results/settle_gas.json``.
"""

from __future__ import annotations

import argparse
import time

from eth_account import Account
from web3 import Web3

from aep2.chain import (
    AuthorizationKind,
    EscrowClient,
    Pair,
    Settlement,
    TokenClient,
    VerifierSpec,
    deploy_stack,
    load_artifact,
)
from aep2.devnet import Anvil
from aep2.mandate import Domain, Mandate
from aep2.prover import ProverProcess, build_request
from benchmarks._timing import write_results

AMOUNT = 1_000


def _prove_round(
    escrow: EscrowClient,
    token: TokenClient,
    payers: list[bytes],
    payee: str,
    nonce: int,
    prover: ProverProcess,
) -> tuple[list[bytes], list[Settlement]]:
    domain = Domain(chain_id=escrow.w3.eth.chain_id, escrow=escrow.address)
    proofs, settlements = [], []
    for key in payers:
        payer = Account.from_key(key).address
        mandate = Mandate(
            payer=payer, payee=payee, token=token.address, amount=AMOUNT, nonce=nonce,
            deadline=int(time.time()) + 3_600, ref=nonce.to_bytes(32, "big"),
        )  # fmt: skip
        request = build_request(
            [mandate.sign(domain, key)], verifier_id=1, from_nonces={(payer, payee): nonce - 1}
        )
        proof = prover.prove(request, n=1, p=1)
        spec = request.pairs[0]
        pair = Pair(spec.payer, spec.payee, spec.from_nonce, spec.to_nonce, spec.total)
        proofs.append(proof.proof_bytes)
        settlements.append(Settlement(1, token.address, request.not_after, (pair,)))
    return proofs, settlements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2)
    k = parser.parse_args().pairs
    with Anvil(accounts=4 + k) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        owner, submitter, payee_key, relayer, *payers = node.private_keys
        spec = VerifierSpec(1, 1, 1, load_artifact("BatchVerifierN1P1"))
        stack = deploy_stack(w3, owner, verifiers=[spec])
        escrow, token = stack.escrow_client(w3), stack.token_client(w3)
        payee = Account.from_key(payee_key).address
        escrow.approve_submitter(Account.from_key(submitter).address, True, payee_key)
        for key in payers:
            address = Account.from_key(key).address
            token.mint(address, 100 * AMOUNT, key)
            token.approve(escrow.address, 50 * AMOUNT, key)
            escrow.deposit(token.address, 50 * AMOUNT, key)
        gas: dict[str, int] = {}
        with ProverProcess() as prover:
            for label, nonce in (("cold", 1), ("warm", 2)):
                proofs, settlements = _prove_round(escrow, token, payers, payee, nonce, prover)
                result = escrow.submit_many(proofs, settlements, submitter)
                assert len(result.settled) == k, result
                gas[f"settleMany_{label}_tx"] = result.gas_used
        auth = token.sign_authorization(
            AuthorizationKind.TRANSFER, payers[0], payee, AMOUNT, valid_before=int(time.time()) + 600
        )
        gas["transferWithAuthorization_tx"] = int(token.transfer_with_authorization(auth, relayer)["gasUsed"])
    per_mandate = {
        f"{name}_per_mandate": value // k for name, value in gas.items() if name.startswith("settle")
    }
    payload = {"mandates_per_settlement": k, "circuit": "N=1,P=1", "gas": gas | per_mandate}
    for name, value in (gas | per_mandate).items():
        print(f"{name:40} {value:>10,}")
    print(f"wrote {write_results('settle_gas', payload)}")


if __name__ == "__main__":
    main()
