"""The per-call x402 baseline: the official SDK's ``exact`` scheme, one EIP-3009 transfer per call.

>>> with Anvil() as chain:
...     token = deploy_token(w3, chain.private_keys[0]).address
...     result = run_baseline(chain, token, calls=50, concurrency=4)
>>> result.gas_per_payment_median, result.added_payee_median_ms, result.concurrent_calls_per_s

``python -m benchmarks.x402_baseline`` runs it on its own anvil and writes
``benchmarks/results/x402_baseline.json``; ``docs/benchmarks.md`` says what each figure means.
"""

from benchmarks.x402_baseline._run import BaselineResult, Distribution, Payment, derived_key, run_baseline

__all__ = ["BaselineResult", "Distribution", "Payment", "derived_key", "run_baseline"]
