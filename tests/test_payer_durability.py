"""The durability contract under real process kills (``docs/payer.md``, "Durability").

A payer process streams mandates under binding limits and is killed with SIGKILL at random
instants, restarted, killed again; from the mandates it emitted alone: no nonce signed twice,
no rolling window over its cap, every mandate in the audit log. The closing run of issue #15
(10,000 mandates, 20 kills) is the slow test; ``make test`` runs a few hundred and a handful.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.payer_kill import kill_run


def test_killed_payers_never_reuse_a_nonce_nor_pass_a_cap(tmp_path: Path) -> None:
    run = kill_run(tmp_path, mandates=400, kills=5, seed=15)
    assert run.violations == []
    assert run.kills == 5 and run.mandates >= 400
    assert run.eip712 and run.agent and run.rejected_attempts  # both kinds, and the caps did bind


@pytest.mark.slow
def test_ten_thousand_mandates_through_twenty_kills(tmp_path: Path) -> None:
    run = kill_run(tmp_path, mandates=10_000, kills=20, seed=15)
    assert run.violations == []
    assert run.kills == 20 and run.mandates >= 10_000
