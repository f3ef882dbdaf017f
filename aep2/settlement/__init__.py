"""Settlement: closing windows, planning chunks, proving and submitting them.

Modules, upstream first (nothing here is imported by ``aep2.store``)::

    planner     plan_window: accepted mandates -> chunks per circuit size (pure)
    window      WindowPolicy: when a payee's window closes (by age or count)
    states      the mandate state machine (re-exported from aep2.store.states)
    models      settlement_windows / settlement_chunks / settlement_chunk_mandates (migration 0002)
    proving     ProofJob, witness_request, GnarkProver (aep2-prover serve), AttestationProver (tests)
    pipeline    close_window, prove_chunk, submit_window, apply_receipt, reconcile, due_payees
    config      PipelineConfig.from_env: store, chain, sizes, prover, policy for workers and the CLI
    status      snapshot for ``aep2 status``
    metrics     mount_metrics: Prometheus ``/metrics`` derived from the store and the broker

The Celery tasks over the pipeline are in ``workers/tasks.py``.
"""
