"""Where the pipeline's collaborators are, read from the environment (workers and the CLI share it).

``AEP2_DATABASE_URL``
    the payee's store (see ``aep2.store.database_url``)
``AEP2_RPC_URL``, ``AEP2_ESCROW``
    the chain's JSON-RPC endpoint and the escrow's address
``AEP2_SUBMITTER_KEY``
    hex key that pays for settlement transactions
``AEP2_CIRCUITS``
    registered sizes as ``verifierId:N:P`` (EIP-712 mandates, the ``batch`` family) or
    ``verifierId:N:P:agent`` (agent-key mandates), separated by commas (default ``1:1:1``); e.g.
    ``1:1:1,9:64:8:agent``. A window's chunks of both families settle in one ``settleMany``.
``AEP2_SETTLEMENT_PROVER``
    ``gnark`` (default: ``aep2-prover serve``, its binary from ``AEP2_PROVER`` / ``AEP2_REPO`` as
    ``aep2.prover`` finds it) or ``attestation:<hex key>`` (the AttestationVerifier test
    stand-in; never on a real chain)
``AEP2_WINDOW_MAX_AGE``, ``AEP2_WINDOW_MAX_COUNT``
    when a payee's window closes (seconds since its oldest accepted mandate; mandates waiting)
``AEP2_STUCK_AFTER``
    seconds after which reconcile hands a chunk still ``proving`` back to the queue (default 900)
``AEP2_SETTLEMENT_PROVER_DELAY``
    seconds the attestation stand-in sleeps per proof, so crash tests have a window
``AEP2_ALERT_HEADROOM_BELOW``
    token base units: a window that finds a payer's headroom below this enqueues a
    ``payer.headroom_low`` alert (unset: none); where alerts go is :mod:`aep2.alerts.config`'s
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import Engine
from web3 import Web3

from aep2.chain.escrow import EscrowClient
from aep2.settlement.pipeline import Chain
from aep2.settlement.planner import AGENT, BATCH, CircuitSize
from aep2.settlement.proving import AttestationProver, ChunkProver, GnarkProver
from aep2.settlement.window import WindowPolicy
from aep2.store.engine import make_engine


def parse_sizes(spec: str) -> tuple[CircuitSize, ...]:
    """``AEP2_CIRCUITS``' sizes; raises ValueError naming the item that is not ``id:N:P[:family]``."""
    sizes = []
    for item in spec.split(","):
        parts = item.strip().split(":")
        family = parts.pop() if len(parts) == 4 else BATCH
        try:
            verifier_id, n, p = (int(x) for x in parts)
        except ValueError:
            raise ValueError(f"AEP2_CIRCUITS item {item!r} is not verifierId:N:P[:family]") from None
        if family not in (BATCH, AGENT) or min(verifier_id, n, p) < 1:
            raise ValueError(f"AEP2_CIRCUITS item {item!r}: family batch or agent, id, N and P >= 1")
        sizes.append(CircuitSize(verifier_id, n, p, family))
    return tuple(sizes)


@dataclass(frozen=True)
class PipelineConfig:
    database_url: str | None
    rpc_url: str
    escrow: str
    submitter_key: bytes
    sizes: tuple[CircuitSize, ...]
    prover: str
    policy: WindowPolicy = field(default_factory=WindowPolicy)
    stuck_after: float = 900.0
    headroom_below: int | None = None

    @classmethod
    def from_env(cls) -> PipelineConfig:
        env = os.environ
        return cls(
            database_url=env.get("AEP2_DATABASE_URL"),
            rpc_url=env.get("AEP2_RPC_URL", "http://127.0.0.1:8545"),
            escrow=env["AEP2_ESCROW"],
            submitter_key=bytes.fromhex(env["AEP2_SUBMITTER_KEY"].removeprefix("0x")),
            sizes=parse_sizes(env.get("AEP2_CIRCUITS", "1:1:1")),
            prover=env.get("AEP2_SETTLEMENT_PROVER", "gnark"),
            policy=WindowPolicy(
                max_age_seconds=int(env.get("AEP2_WINDOW_MAX_AGE", "300")),
                max_count=int(env.get("AEP2_WINDOW_MAX_COUNT", "64")),
            ),
            stuck_after=float(env.get("AEP2_STUCK_AFTER", "900")),
            headroom_below=int(env["AEP2_ALERT_HEADROOM_BELOW"])
            if env.get("AEP2_ALERT_HEADROOM_BELOW")
            else None,
        )

    def engine(self) -> Engine:
        import aep2.settlement.models  # noqa: F401  (the settlement tables join the store's metadata)

        return make_engine(self.database_url)

    def chain(self) -> Chain:
        w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 60}))
        return Chain(EscrowClient.at(w3, self.escrow), self.submitter_key)

    def make_prover(self, chain: Chain) -> ChunkProver:
        """A prover for this process; a gnark one owns an ``aep2-prover serve`` subprocess."""
        if self.prover.startswith("attestation:"):
            key = bytes.fromhex(self.prover.split(":", 1)[1].removeprefix("0x"))
            verifiers = {}
            for s in self.sizes:
                info = chain.escrow.verifier_info(s.verifier_id)
                if info is None:
                    raise ValueError(f"verifier {s.verifier_id} is not registered on {chain.escrow.address}")
                verifiers[s.verifier_id] = info.verifier
            delay = float(os.environ.get("AEP2_SETTLEMENT_PROVER_DELAY", "0"))
            return AttestationProver(key, verifiers, delay)
        from aep2.prover import ProverProcess

        return GnarkProver(ProverProcess())
