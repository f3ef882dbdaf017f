"""Kill a payer with SIGKILL at random instants while it streams mandates; check what it emitted.

    python -m benchmarks.payer_kill [--mandates 10000] [--kills 20] [--seed N] [--out FILE]

A child process (``python -m benchmarks.payer_kill child ...``) pays as fast as it can on a
simulated clock (bursts of attempts, then quiet minutes, so the policy's windows fill and roll):
EIP-712 mandates to one payee, agent-key mandates to another, random amounts, under a policy whose
hourly, daily and rate limits bind. It prints each signed mandate's header as it leaves the process.
The parent kills it with ``kill -9`` at random instants (during start-up, a lease, a nonce block, a
checkpoint, a signature...), restarts it on the same database, and stops once it holds ``--mandates``.
Then it checks, from the signed mandates alone: every signature verifies; no nonce was signed twice
in any sequence; no rolling hour or day holds more than its limit, nor any hour more payments than
the rate limit; and every mandate is in the audit log as approved. Writes the figures as JSON.

The kill test of ``make test`` (``tests/test_payer_durability.py``) runs this with a few hundred
mandates and a handful of kills; this module's defaults are the closing run of issue #15.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aep2.agentkey import AgentKey, AgentKeyGrant, SignedAgentMandate, decode_any
from aep2.errors import PolicyViolation
from aep2.mandate import Domain
from aep2.payer import AgentCredential, AuditLog, LocalKeySigner, Payer, Policy

PAYER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
"""anvil's second account: a well-known devnet key, never a real one."""
EIP712_PAYEE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
AGENT_PAYEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ESCROW = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN_ID = 31337
KEY_ID = 7
MIN_DEADLINE = 3600
START = 1_900_000_000
"""Simulated unix time of the first attempt."""
HOUR, DAY = 3600, 86400
POLICY = Policy(max_per_payment=1_000, hourly_limit=150_000, daily_limit=2_000_000, payments_per_hour=400)
"""Binding: attempts ask for about 1,000,000 an hour."""
BURST, PER_SECOND, QUIET = 200, 20, (120, 600)
"""A burst is 200 attempts, 20 per simulated second, then 2 to 10 quiet minutes."""


# --- the child --------------------------------------------------------------------------------------


def _requirement(payee: str, amount: int, kinds: list[str] | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"escrow": ESCROW, "minDeadlineSeconds": MIN_DEADLINE, "ref": "0x" + "ab" * 32}
    if kinds is not None:
        extra["kinds"] = kinds
    return {"scheme": "aep2", "network": f"eip155:{CHAIN_ID}", "asset": TOKEN, "amount": str(amount),
            "payTo": payee, "maxTimeoutSeconds": 60, "extra": extra}  # fmt: skip


def _credential(key_file: Path) -> AgentCredential:
    key = AgentKey.load(key_file)
    grant = AgentKeyGrant.build(
        payer=LocalKeySigner(PAYER_KEY).address, key=key.public_key, token=TOKEN, payee=AGENT_PAYEE,
        cap=10**24, valid_after=START - 60, valid_until=START + 60 * DAY, salt=1,
    )  # fmt: skip
    return AgentCredential(key, KEY_ID, Domain(chain_id=CHAIN_ID, escrow=ESCROW), grant)


def child(db: Path, key_file: Path, start: int, count: int, seed: int) -> None:
    """Pay until ``count`` mandates were printed, from simulated time ``start``; then close."""
    rng = random.Random(seed)
    clock = [float(start)]
    payer = Payer(LocalKeySigner(PAYER_KEY), POLICY, agent=_credential(key_file), db=db,
                  deadline_margin=0, clock=lambda: clock[0])  # fmt: skip
    printed = attempt = 0
    while printed < count:
        attempt += 1
        if attempt % BURST == 0:
            clock[0] += rng.randint(*QUIET)
        elif attempt % PER_SECOND == 0:
            clock[0] += 1
        amount = rng.randint(1, 1_000)
        offer = (
            _requirement(AGENT_PAYEE, amount, ["agent", "eip712"]) if rng.random() < 0.5
            else _requirement(EIP712_PAYEE, amount, None)
        )  # fmt: skip
        try:
            header = payer.pay(offer)
        except PolicyViolation:
            continue
        sys.stdout.write(header + "\n")
        sys.stdout.flush()
        printed += 1
    payer.close()


# --- the parent -------------------------------------------------------------------------------------


@dataclass
class Run:
    """What a kill run produced and found."""

    mandates: int = 0
    kills: int = 0
    starts: int = 0
    seconds: float = 0.0
    simulated_hours: float = 0.0
    eip712: int = 0
    agent: int = 0
    burned_nonces: int = 0
    rejected_attempts: int = 0
    violations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spawn(db: Path, key_file: Path, start: int, count: int, seed: int) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    argv = [sys.executable, "-m", "benchmarks.payer_kill", "child", str(db), str(key_file), str(start),
            str(count), str(seed)]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _reader(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _drain(
    process: subprocess.Popen[str], headers: list[str], *, lines_before_kill: int | None, delay: float
) -> bool:
    """Collect the child's complete lines; kill it after ``lines_before_kill`` more (and ``delay``
    seconds), or let it finish. Whether it was killed."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(process, lines), daemon=True).start()
    seen, ended = 0, False
    while not ended and (lines_before_kill is None or seen < lines_before_kill):
        line = lines.get()
        ended = line is None
        if line is not None and line.endswith("\n"):  # a torn last line never left the process whole
            headers.append(line.strip())
            seen += 1
    killed = False
    if lines_before_kill is not None and process.poll() is None:
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        killed = True
    process.wait(timeout=60)
    while not ended:
        line = lines.get()
        ended = line is None
        if line is not None and line.endswith("\n"):
            headers.append(line.strip())
    if not killed and process.returncode != 0:
        assert process.stderr is not None
        raise RuntimeError(f"the payer child failed ({process.returncode}): {process.stderr.read()[-2000:]}")
    return killed


def stream(db: Path, key_file: Path, *, mandates: int, kills: int, seed: int) -> tuple[list[str], Run]:
    """Run children until ``mandates`` headers came out, killing ``kills`` of them at random points."""
    rng = random.Random(seed)
    run = Run()
    headers: list[str] = []
    started = time.perf_counter()
    start = START
    while len(headers) < mandates:
        left = mandates - len(headers)
        killing = run.kills < kills
        # a kill after a random share of what is left (sometimes during start-up), at a random instant
        before = rng.randint(0, max(1, 2 * left // (kills - run.kills + 1))) if killing else None
        delay = rng.uniform(0, 1.5) if before == 0 else rng.uniform(0, 0.02)
        with _spawn(db, key_file, start, left, rng.randrange(1 << 30)) as process:
            run.starts += 1
            run.kills += _drain(process, headers, lines_before_kill=before, delay=delay)
        if headers:
            start = max(start, max(_time(decode_any(h)) for h in headers[-50:]) + 1)
    run.seconds = round(time.perf_counter() - started, 1)
    return headers, run


def _time(signed: Any) -> int:
    """When the payer decided: the deadline is ``ceil(now) + minDeadlineSeconds`` (no margin, and the
    child's clock ticks in whole seconds)."""
    return int(signed.mandate.deadline) - MIN_DEADLINE


def _windows(payments: Sequence[tuple[int, int]], span: int) -> tuple[int, int]:
    """The largest amount and count in any window ``[t - span, t]`` over ``(time, amount)`` payments.

    A window's content changes only when a payment enters it, so its largest totals are those of
    the windows ending at a payment's time (with every payment of that instant).
    """
    ordered = sorted(payments)
    times = [t for t, _ in ordered]
    prefix = [0]
    for _, amount in ordered:
        prefix.append(prefix[-1] + amount)
    most_amount = most_count = 0
    for t in set(times):
        left, right = bisect_left(times, t - span), bisect_right(times, t)
        most_amount = max(most_amount, prefix[right] - prefix[left])
        most_count = max(most_count, right - left)
    return most_amount, most_count


def check(headers: Sequence[str], db: Path, key_file: Path, run: Run) -> Run:
    """What the signed mandates prove about nonces and caps, and whether the audit log has them all."""
    agent_key = AgentKey.load(key_file).public_key
    sequences: dict[tuple[str, ...], list[int]] = defaultdict(list)
    payments: list[tuple[int, int]] = []
    digests = set()
    for header in headers:
        signed = decode_any(header)
        if isinstance(signed, SignedAgentMandate):
            signed.verify(agent_key)
            sequences[("agent", str(signed.mandate.key_id), signed.mandate.payee)].append(
                signed.mandate.nonce
            )
            run.agent += 1
        else:
            signed.verify()
            sequences[("eip712", signed.mandate.payer, signed.mandate.payee)].append(signed.mandate.nonce)
            run.eip712 += 1
        if signed.mandate.amount > (POLICY.max_per_payment or 0):
            run.violations.append(f"amount {signed.mandate.amount} above max_per_payment")
        payments.append((_time(signed), signed.mandate.amount))
        digests.add("0x" + signed.digest.hex())
    for key, used in sequences.items():
        if len(set(used)) != len(used):
            run.violations.append(f"{key}: {len(used) - len(set(used))} nonces signed twice")
        run.burned_nonces += max(used) - len(set(used))
    for span, limit, name in ((HOUR, POLICY.hourly_limit, "hourly"), (DAY, POLICY.daily_limit, "daily")):
        most, count = _windows(payments, span)
        if limit is not None and most > limit:
            run.violations.append(f"{most} paid in one {name} window, above {limit}")
        if span == HOUR and POLICY.payments_per_hour is not None and count > POLICY.payments_per_hour:
            run.violations.append(f"{count} payments in one hour, above {POLICY.payments_per_hour}")
    audit = AuditLog(db)
    entries = audit.entries()
    audit.engine.dispose()
    approved = {e.digest for e in entries if e.decision == "approved"}
    if missing := digests - approved:
        run.violations.append(f"{len(missing)} signed mandates are not in the audit log")
    run.rejected_attempts = sum(1 for e in entries if e.decision == "rejected")
    times = [t for t, _ in payments]
    run.mandates = len(headers)
    run.simulated_hours = round((max(times) - min(times)) / HOUR, 1) if times else 0.0
    return run


def kill_run(workdir: Path, *, mandates: int, kills: int, seed: int) -> Run:
    """The whole experiment in ``workdir`` (a fresh database and agent key file)."""
    workdir.mkdir(parents=True, exist_ok=True)
    key_file = workdir / "agent.key"
    AgentKey.generate().save(key_file)
    db = workdir / "payer.db"
    headers, run = stream(db, key_file, mandates=mandates, kills=kills, seed=seed)
    return check(headers, db, key_file, run)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["child"]:
        db, key_file, start, count, seed = args[1:6]
        child(Path(db), Path(key_file), int(start), int(count), int(seed))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mandates", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args(args)
    with tempfile.TemporaryDirectory(prefix="aep2-payer-kill-") as tmp:
        run = kill_run(options.workdir or Path(tmp), mandates=options.mandates, kills=options.kills,
                       seed=options.seed)  # fmt: skip
    text = json.dumps(run.to_dict(), indent=2)
    if options.out is not None:
        options.out.write_text(text + "\n")
    print(text)
    if run.violations:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
