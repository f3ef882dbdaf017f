"""The spending budget: exact windows from the rolled-up ledger, and leases that decide as the log did.

Real SQLite throughout. The windows used to be summed from the audit log on every payment; a
reference model of that rule (``Reference``) decides every attempt of a random walk in time, and the
payer, drawing from leases and checking the ledger once per lease, must decide the same.
"""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from aep2.errors import PolicyViolation, Reason
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.payer._db import append_event, metadata, window_totals
from tests.conftest import PAYER_KEY, aep2_requirement
from tests.test_payer_nonces import REPO

HOUR, DAY = 3600, 86400
NOON = 1_767_787_200.0  # 2026-01-07 12:00 UTC
PAYER = LocalKeySigner(PAYER_KEY).address
TOKENS = ("0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x" + "77" * 20)


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the ledger's windows ---------------------------------------------------------------------------

moments = st.one_of(
    st.integers(0, 3 * DAY).map(float),  # on whole seconds, minutes and hours as often as not
    st.integers(0, 72).map(lambda h: h * 3600.0),
    st.floats(0, 3 * DAY, allow_nan=False),
)
events = st.lists(
    st.tuples(moments, st.sampled_from(TOKENS), st.integers(-(10**30), 10**30), st.integers(-5, 5)),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(events=events, since=moments)
def test_a_windows_total_is_the_sum_of_its_events(
    events: list[tuple[float, str, int, int]], since: float
) -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    cursor = engine.raw_connection().driver_connection.cursor()  # type: ignore[union-attr]
    for until, token, amount, count in events:
        append_event(cursor, payer=PAYER, token=token, at=0.0, until=until, amount=amount, count=count)
    for token in TOKENS:
        counted = [(a, c) for u, t, a, c in events if t == token and u > since]
        assert window_totals(cursor, payer=PAYER, token=token, since=since)[0] == sum(a for a, _ in counted)
    everyone = sum(c for u, _, _, c in events if u > since)
    assert window_totals(cursor, payer=PAYER, token=None, since=since)[1] == everyone
    engine.dispose()


# --- leases decide as the audit log did ---------------------------------------------------------------


@dataclass
class Reference:
    """The rule before leases: every payment sums the approved log over each window, ``at >= since``."""

    policy: Policy
    approved: list[tuple[float, str, int]] = field(default_factory=list)

    def decide(self, now: float, token: str, amount: int) -> Reason | None:
        p = self.policy
        count = sum(1 for at, _, _ in self.approved if at >= now - HOUR)
        if p.payments_per_hour is not None and count + 1 > p.payments_per_hour:
            return Reason.POLICY_RATE_LIMIT
        for limit, span, reason in ((p.hourly_limit, HOUR, Reason.POLICY_HOURLY_LIMIT),
                                    (p.daily_limit, DAY, Reason.POLICY_DAILY_LIMIT)):  # fmt: skip
            spent = sum(a for at, t, a in self.approved if t == token and at >= now - span)
            if limit is not None and spent + amount > limit:
                return reason
        self.approved.append((now, token, amount))
        return None


steps = st.sampled_from([0, 0, 0, 1, 7, 600, 3599, 3600, 3601, 86399, 86400, -5, -3600])
attempts = st.lists(st.tuples(steps, st.sampled_from(TOKENS), st.integers(1, 1_000)), min_size=1, max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=attempts, restart=st.integers(0, 60))
def test_leases_decide_every_payment_as_the_log_did(
    tmp_path_factory: pytest.TempPathFactory, attempts: list[tuple[int, str, int]], restart: int
) -> None:
    """Whole-second clocks (forward, still, backward), two tokens, a restart somewhere: the same
    approvals and the same reasons as summing the log, so the semantics did not change."""
    policy = Policy(hourly_limit=3_000, daily_limit=8_000, payments_per_hour=6)
    db = tmp_path_factory.mktemp("budget") / "payer.db"
    clock = Clock()
    payer = Payer(LocalKeySigner(PAYER_KEY), policy, db=db, clock=clock)
    reference = Reference(policy)
    for i, (step, token, amount) in enumerate(attempts):
        if i == restart:
            payer.close()
            payer = Payer(LocalKeySigner(PAYER_KEY), policy, db=db, clock=clock)
        clock.now += step
        expected = reference.decide(clock.now, token, amount)
        try:
            payer.authorize(aep2_requirement(asset=token, amount=str(amount)))
            got = None
        except PolicyViolation as exc:
            got = Reason(exc.reason)
        assert got == expected, (i, clock.now - NOON, token, amount)
    payer.close()


def test_a_lease_is_not_drawn_from_once_it_ends(payer_db: Path) -> None:
    clock = Clock()
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(hourly_limit=3_000), db=payer_db, clock=clock)
    for _ in range(2):  # a lease for one payment, then one for two: 1000 of it is left
        payer.authorize(aep2_requirement(amount="1000"))
    clock.now += HOUR - 1  # the lease ended long ago: this payment must be counted at its own time
    payer.authorize(aep2_requirement(amount="1000"))
    clock.now += 2  # the first two left the hour; the third is in it
    payer.authorize(aep2_requirement(amount="2000"))
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(aep2_requirement(amount="1"))
    assert "3000 already spent" in caught.value.message


def test_a_changed_policy_ends_the_lease(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"hourly_limit": 10_000}))
    payer = Payer(LocalKeySigner(PAYER_KEY), path, db=tmp_path / "payer.db", clock=Clock())
    for _ in range(2):  # a lease for one payment, then one for two: 1000 of it is left
        payer.authorize(aep2_requirement(amount="1000"))
    path.write_text(yaml.safe_dump({"hourly_limit": 2_500}))
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(aep2_requirement(amount="1000"))
    assert caught.value.reason == Reason.POLICY_HOURLY_LIMIT and "2000 already spent" in caught.value.message


def test_close_gives_the_unspent_rest_of_a_lease_back(tmp_path: Path) -> None:
    clock, policy = Clock(), Policy(hourly_limit=2_500)
    first = Payer(LocalKeySigner(PAYER_KEY), policy, db=tmp_path / "payer.db", clock=clock)
    for _ in range(2):  # a lease of 500, then one of 1000 with 500 drawn
        first.authorize(aep2_requirement(amount="500"))
    first.close()
    second = Payer(LocalKeySigner(PAYER_KEY), policy, db=tmp_path / "payer.db", clock=clock)
    second.authorize(aep2_requirement(amount="1500"))  # 1000 + 1500: exactly the limit
    with pytest.raises(PolicyViolation):
        second.authorize(aep2_requirement(amount="1"))


# A payer process that pays twice at a fixed time (a lease of 500, then one of 1000 with 500 left),
# says so, and hangs: the parent kills it, so the second lease is never released.
LEASING_PAYER = textwrap.dedent(
    """
    import sys, time
    from aep2.payer import LocalKeySigner, Payer, Policy

    payer = Payer(LocalKeySigner.from_hex(sys.argv[2]), Policy(hourly_limit=2_500), db=sys.argv[1],
                  clock=lambda: float(sys.argv[3]))
    requirement = {"scheme": "aep2", "network": "eip155:31337", "asset": sys.argv[4], "amount": "500",
                   "payTo": sys.argv[5], "maxTimeoutSeconds": 60,
                   "extra": {"escrow": sys.argv[6], "minDeadlineSeconds": 600, "ref": "0x" + "ab" * 32}}
    for _ in range(2):
        payer.pay(requirement)
    print("paid", flush=True)
    time.sleep(600)
    """
)


def test_a_killed_payers_lease_counts_as_spent(payer_db: Path) -> None:
    """Fail closed: the killed process's unspent 500 stays reserved until its window passes."""
    offer = aep2_requirement()
    escrow = offer["extra"]["escrow"]
    argv = [str(payer_db), PAYER_KEY.hex(), repr(NOON), offer["asset"], offer["payTo"], escrow]
    with subprocess.Popen(
        [sys.executable, "-W", "error", "-c", LEASING_PAYER, *argv], cwd=REPO, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as victim:  # fmt: skip
        assert victim.stdout is not None and victim.stderr is not None
        try:
            line = victim.stdout.readline()
        finally:
            victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        assert line.strip() == "paid", victim.stderr.read()
    clock = Clock()
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(hourly_limit=2_500), db=payer_db, clock=clock)
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(aep2_requirement(amount="1500"))
    assert "1500 already spent" in caught.value.message  # 1000 paid + 500 reserved by the dead process
    payer.authorize(aep2_requirement(amount="1000"))
    clock.now += HOUR + 1  # the dead lease leaves the window with the payments it held
    payer.authorize(aep2_requirement(amount="1500"))


def _old_log(db: Path, rows: list[tuple[float, str, str]]) -> None:
    """A payer database written before the budget ledger: the audit table alone."""
    with sqlite3.connect(db) as old:
        old.execute(
            "CREATE TABLE payer_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at FLOAT NOT NULL, "
            "decision VARCHAR(16) NOT NULL, reason VARCHAR(64) NOT NULL, message TEXT NOT NULL, "
            "payer VARCHAR(42) NOT NULL, payee VARCHAR(42), token VARCHAR(42), amount VARCHAR(40))"
        )
        old.executemany(
            "INSERT INTO payer_audit (at, decision, reason, message, payer, payee, token, amount) "
            "VALUES (?, ?, ?, '', ?, ?, ?, ?)",
            [(at, decision, decision, PAYER, aep2_requirement()["payTo"], TOKENS[0], amount)
             for at, decision, amount in rows],
        )  # fmt: skip
    old.close()


@pytest.mark.parametrize(
    "amounts",
    [[str(2**94)] * 2, ["999999999999999999"] * 10],
    ids=["past-18-digits", "sum-past-int64"],
)
def test_an_older_audit_log_is_summed_exactly_past_64_bits(payer_db: Path, amounts: list[str]) -> None:
    now = float(math.floor(time.time()))
    _old_log(payer_db, [(now - 10.5, "approved", amount) for amount in amounts])
    spent = sum(int(amount) for amount in amounts)
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(hourly_limit=spent + 5), db=payer_db, clock=Clock(now))
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(aep2_requirement(amount="6"))
    assert f"{spent} already spent" in caught.value.message
    payer.authorize(aep2_requirement(amount="5"))


def test_an_older_audit_log_seeds_the_windows_to_the_second(payer_db: Path) -> None:
    """A database written before the ledger: its approved payments of the last day still count."""
    now = float(math.floor(time.time()))  # the upgrade reads the last day by the real clock
    _old_log(payer_db, [(now - HOUR - 0.5, "approved", "1000"), (now - HOUR + 0.5, "approved", "1000"),
                        (now - 60, "rejected", "1000"), (now - DAY - 1, "approved", "1000")])  # fmt: skip
    policy = Policy(hourly_limit=1_500, daily_limit=2_500)
    payer = Payer(LocalKeySigner(PAYER_KEY), policy, db=payer_db, clock=Clock(now))
    payer.authorize(aep2_requirement(amount="500"))  # the hour holds one old payment, the day two
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(aep2_requirement(amount="1"))
    assert caught.value.reason == Reason.POLICY_HOURLY_LIMIT
