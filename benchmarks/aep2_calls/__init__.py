"""aep2 per call, measured as the x402 baseline is: the payer SDK against the real payee app.

>>> with Anvil() as chain:
...     stack = deploy_stack(w3, chain.private_keys[0], verifiers=[attestation_verifier(1, 1, 1, attester)])
...     result = run_aep2_calls(chain, stack.escrow, stack.token, calls=50, concurrency=4, db_path=path)
>>> result.added_payee_median_ms, result.concurrent_calls_per_s, result.accepted_mandates

The accepted mandates stay in the payee's store at ``db_path``, for a later phase to settle.
``python -m benchmarks.aep2_calls`` runs it on its own anvil and writes
``benchmarks/results/aep2_calls.json``. Every figure means what the x402 baseline's figure of the
same name means (``docs/benchmarks.md``); :class:`Aep2CallsResult` documents the ones it adds.
"""

from benchmarks._timing import Distribution
from benchmarks.aep2_calls._run import Aep2CallsResult, derived_key, run_aep2_calls

__all__ = ["Aep2CallsResult", "Distribution", "derived_key", "run_aep2_calls"]
