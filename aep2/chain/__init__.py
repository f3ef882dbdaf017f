"""Chain bindings: contract artefacts, deployment and transactions over web3.py."""

from aep2.chain.artifacts import Artifact, load_artifact
from aep2.chain.transactions import TransactionFailed, deploy, send, transact

__all__ = ["Artifact", "TransactionFailed", "deploy", "load_artifact", "send", "transact"]
