"""Settlement: closing windows, planning chunks, proving and submitting them.

Modules, upstream first (nothing here is imported by ``aep2.store``)::

    planner     plan_window: accepted mandates -> chunks per circuit family and size (pure)
    window      WindowPolicy: when a payee's window closes (by age or count)
    states      the mandate state machine (re-exported from aep2.store.states)
    models      settlement_windows / settlement_chunks / settlement_chunk_mandates (0002, family: 0004)
    proving     ProofJob / AgentProofJob and their witness requests, GnarkProver (aep2-prover
                serve), AttestationProver (tests)
    chain_access  Chain: the escrow and the (payee-approved) submitter
    records     the windows', chunks' and mandates' shared reads and writes
    alerting    the alerts each step enqueues in its own transaction (aep2.alerts' outbox)
    funds       what each payer can be debited: free balance, reservations, pending withdrawals
    close       close_window (usable sizes, approved payees, budgets, agent keys' caps), due_payees
    prove       prove_chunk, with counted attempts
    submit      submit_window, apply_receipt: settled only by an exact (Agent)PairSettled
    reconcile   reconcile: finish or roll back what a crash left
    pipeline    the four steps gathered for callers that drive them all
    timing      worst-case settlement latency, checked against the horizon and withdrawDelay
    config      PipelineConfig.from_env: store, chain, sizes, prover, policy for workers and the CLI
    status      snapshot for ``aep2 status``
    metrics     mount_metrics: Prometheus ``/metrics`` derived from the store and the broker

The Celery tasks over the pipeline are in ``workers/tasks.py``.
"""
