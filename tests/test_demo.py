"""``make demo`` / ``aep2 demo``: the main job end to end, and its cleanup on Ctrl-C.

Both need the demo's cached Groth16 dev keys (EIP-712 N=1 P=1 and agent N=64 P=1, made by
``make groth16``); without them the demo would run those setups, so these tests skip instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from aep2.demo import DEPOSIT, PRICE, DemoChain, DemoConfig, DemoSummary, run_demo
from aep2.demo.prereqs import AGENT_SIZE, keys_dir
from aep2.devnet import repo_root

needs_keys = pytest.mark.skipif(
    not all((keys_dir(family) / "proving.key").exists() for family in ("batch", "agent")),
    reason=f"no Groth16 keys in {keys_dir('batch')} or {keys_dir('agent')}: run `make groth16`",
)


# kombu's SQLAlchemy transport (the embedded broker the demo publishes to) maps its queue with
# ``noload``, which SQLAlchemy 2.1 deprecates; not our code.
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
@needs_keys
@pytest.mark.groth16
def test_demo_settles_every_paid_call_and_its_summary_matches_the_chain() -> None:
    """The default story (an agent key streams one full agent proof's worth of calls over HTTP, MCP
    and A2A) with one EIP-712 payer beside it (``--payers 1``): one proof per family, one
    settleMany, below x402 exact in gas. The CLI's default (no EIP-712 payer) runs in the Ctrl-C test."""
    checked: list[bool] = []
    streamed = AGENT_SIZE[0]

    def inspect(chain: DemoChain, summary: DemoSummary) -> None:
        agent, eip712 = chain.payers
        assert chain.escrow.balance(agent, chain.token.address) == DEPOSIT - streamed * PRICE
        assert chain.escrow.agent_high_water(chain.agent_key_id, chain.payee) == streamed
        key = chain.escrow.agent_key(chain.agent_key_id)
        assert key is not None and key.spent == streamed * PRICE and key.payer == agent
        assert chain.escrow.balance(eip712, chain.token.address) == DEPOSIT - PRICE
        assert chain.escrow.high_water(eip712, chain.payee) == 1
        assert chain.escrow.payee_balance(chain.payee, chain.token.address) == (streamed + 1) * PRICE
        [tx] = summary.tx_hashes
        receipt = chain.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        assert receipt["status"] == 1 and receipt["gasUsed"] == summary.settle_gas
        assert receipt["to"] == chain.escrow.address
        checked.append(True)

    out = io.StringIO()
    summary = run_demo(Console(file=out, width=160), DemoConfig(payers=1), inspect=inspect)
    assert checked == [True]
    assert summary.calls_paid == streamed + 1
    third = streamed // 3
    assert summary.per_transport == {"http": streamed - 2 * third + 1, "mcp": third, "a2a": third}
    assert summary.mandate_states == {"settled": streamed + 1}
    chunks = sorted((c.family, c.n, c.p, c.mandates) for c in summary.chunks)
    assert chunks == [("agent", *AGENT_SIZE, streamed), ("batch", 1, 1, 1)]
    assert summary.windows == 1 and len(summary.proving_seconds) == 2
    assert summary.proof_bytes == 384  # the EIP-712 proof carries gnark's commitment; the agent one 256
    assert summary.payee_credit == (streamed + 1) * PRICE
    agent, eip712 = summary.payers
    assert (agent.balance, agent.high_water, agent.key_spent) == (
        DEPOSIT - streamed * PRICE,
        streamed,
        streamed * PRICE,
    )
    assert (eip712.balance, eip712.high_water, eip712.key_id) == (DEPOSIT - PRICE, 1, None)
    assert summary.x402_ratio > 1  # below per-call x402 exact in gas
    text = out.getvalue()
    assert "calls paid" in text and "high-water nonce" in text and "less than x402 exact" in text


def _groups_alive(pgids: set[int]) -> list[str]:
    """Processes (``pid cmdline``) still in any of the process groups ``pgids``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in pgids:
            alive.append(f"{stat.parent.name} {cmd}")
    return alive


def _prover_in_group(pgid: int) -> bool:
    return any("aep2-prover" in p for p in _groups_alive({pgid}))


# A shell starts background jobs with SIGINT ignored, and a child inherits that (`make test &`
# would then test nothing); the demo gets Python's own Ctrl-C handler back, as in a terminal.
DEMO_WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv = ['aep2', 'demo', '--agent-calls', '3', '--payers', '0']; "
    "runpy.run_module('aep2', run_name='__main__')"
)


def _interrupt(proc: subprocess.Popen[bytes], within: float = 180.0) -> int | None:
    """Ctrl-C as an impatient user gives it: SIGINT, and again every 2 s while the process runs,
    so a second Ctrl-C lands during the shutdown, which must not leak anything either."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=2)
    return proc.poll()


@needs_keys
def test_ctrl_c_mid_proof_leaves_no_process_behind(tmp_path: Path) -> None:
    """SIGINT while the worker's prover is proving: anvil, uvicorn, worker and prover all go.

    The demo runs in its own process group (anvil is its child, uvicorn a thread of it); the
    worker has its own group, which holds its pool child and the prover. Both groups must be empty.
    """
    log = tmp_path / "demo.log"
    env = os.environ | {"COLUMNS": "200", "AEP2_REPO": str(repo_root())}
    with log.open("wb") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-c", DEMO_WITH_CTRL_C],
            stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    worker = None
    try:
        deadline = time.monotonic() + 480  # a loaded machine: keys checked, calls paid, prover started
        while time.monotonic() < deadline and demo.poll() is None:
            worker = re.search(r"Celery worker pid (\d+)", log.read_text(errors="replace"))
            if worker and _prover_in_group(int(worker.group(1))):
                break
            time.sleep(0.5)
        assert worker is not None and _prover_in_group(int(worker.group(1))), log.read_text()
        before = _groups_alive({demo.pid, int(worker.group(1))})
        assert any("anvil" in p for p in before) and any("workers.celery" in p for p in before), before
        assert _interrupt(demo) == 130, log.read_text()
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    assert _groups_alive({demo.pid, int(worker.group(1))}) == [], log.read_text()
    assert "interrupted: everything the demo started is stopped" in log.read_text()


def test_make_groth16_sets_up_the_demos_agent_circuit() -> None:
    """``make groth16`` (and so ``make setup``) makes the keys the demo proves with, so a first
    ``make demo`` after ``make setup`` runs no setup of its own."""
    n, p = AGENT_SIZE
    assert f"aep2-prover setup --dev --family agent --n {n} --p {p}" in (repo_root() / "Makefile").read_text()
