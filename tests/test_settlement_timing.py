"""Finding 7: a payee refuses to start when its horizon and the pipeline's bounds do not fit the escrow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aep2.devnet import Anvil
from aep2.errors import ConfigurationError
from aep2.settlement.timing import SettlementTiming, check_timing
from tests import payee_support as s
from tests.escrow_world import make_world

DEFAULTS = SettlementTiming(window_max_age=300)


def test_default_pipeline_fits_a_one_hour_horizon_and_a_one_day_delay() -> None:
    assert DEFAULTS.worst_case_latency() == 300 + 30 + 3 * (900 + 30) + 120 + 30
    check_timing(horizon=3600, timing=DEFAULTS, withdraw_delay=24 * 3600)


def test_horizon_equal_to_the_withdraw_delay_is_refused() -> None:
    """The old defaults: horizon and withdrawDelay both 3600 s; a withdrawal could beat settlement."""
    with pytest.raises(ConfigurationError, match="withdrawDelay of 3600 s") as caught:
        check_timing(horizon=3600, timing=DEFAULTS, withdraw_delay=3600)
    assert caught.value.context["latency"] == DEFAULTS.worst_case_latency()


def test_pipeline_slower_than_the_horizon_is_refused() -> None:
    slow = SettlementTiming(window_max_age=3000)
    with pytest.raises(ConfigurationError, match="could expire before they settle"):
        check_timing(horizon=3600, timing=slow, withdraw_delay=30 * 24 * 3600)


def test_timing_reads_the_workers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEP2_WINDOW_MAX_AGE", "60")
    monkeypatch.setenv("AEP2_TICK_SECONDS", "5")
    monkeypatch.setenv("AEP2_STUCK_AFTER", "100")
    assert SettlementTiming.from_env().worst_case_latency() == 60 + 5 + 3 * 105 + 120 + 5


def test_payee_serve_refuses_a_horizon_the_escrow_cannot_cover(tmp_path: Path) -> None:
    """``aep2 payee serve`` reads withdrawDelay from the chain and exits with the reason."""
    with Anvil() as anvil:
        world = make_world(anvil)
        delay = world.escrow.withdraw_delay()
        (tmp_path / "payee.key").write_text(s.PAYEE_KEY)
        config = {
            "chain_id": s.CHAIN_ID, "rpc_url": anvil.rpc_url, "escrow": world.escrow.address,
            "tokens": [world.token.address], "payee_key_file": "payee.key",
            "settlement_horizon_seconds": delay, "database_url": f"sqlite:///{tmp_path / 'p.db'}",
        }  # fmt: skip
        (tmp_path / "payee.yaml").write_text(json.dumps(config))
        args = [sys.executable, "-m", "aep2.cli.payee", "serve", "--config", str(tmp_path / "payee.yaml")]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=os.environ)
    assert done.returncode != 0
    assert f"withdrawDelay of {delay} s" in done.stderr
    assert not (tmp_path / "p.db").exists(), "refused before touching the store"
