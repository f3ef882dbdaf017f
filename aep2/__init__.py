"""aep2: per-call payments for AI agents, settled in batches by one Groth16 proof."""
