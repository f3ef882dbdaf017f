"""The agent family's circuits for the bench: cached dev keys and a metered prover.

- :func:`ensure_keys` runs ``aep2-prover setup --dev --family agent`` for a size whose keys are not
  cached under ``$AEP2_HOME/circuits/<id>`` and measures it (wall and CPU seconds, peak memory from
  the child's own ``rusage``, kept in ``benchmarks/results/agent_setup.json``); cached keys are
  reused, their setup figures looked up there, else in ``benchmarks/results/prover.json`` if
  ``benchmarks/prover_bench.sh`` measured them.
- :class:`MeteredProver` is a ``ProverProcess`` whose child's peak resident memory (``VmHWM``) and
  CPU seconds can be read from ``/proc`` (Linux), so each size's proving is measured in the run.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aep2.errors import ConfigurationError
from aep2.prover import ProverProcess, circuit_id, default_binary, keys_dir
from benchmarks._timing import RESULTS

PROVER_RESULTS = RESULTS / "prover.json"
SETUP_RESULTS = RESULTS / "agent_setup.json"
"""Every agent setup this bench measured, by circuit id, so a later run with cached keys reports it."""


@dataclass(frozen=True)
class SetupRecord:
    """One size's keys: their constraints, and what the dev setup cost if anyone measured it."""

    circuit_id: str
    constraints: int
    ran: bool  # set up in this run; False: the keys were cached
    seconds: float | None
    cpu_seconds: float | None
    peak_rss_mib: int | None
    source: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _flags(n: int, p: int) -> list[str]:
    return ["--family", "agent", "--n", str(n), "--p", str(p)]


def constraint_count(n: int, p: int) -> int:
    """The size's constraints: ``aep2-prover info`` compiles once and caches them in ``info.json``."""
    info = keys_dir(n, p, "agent") / "info.json"
    if not info.exists():
        subprocess.run([str(default_binary()), "info", *_flags(n, p)], check=True, capture_output=True)
    return int(json.loads(info.read_text())["constraints"])


def _remembered(cid: str) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = json.loads(SETUP_RESULTS.read_text()) if SETUP_RESULTS.exists() else []
    return next((r for r in rows if r["circuit_id"] == cid), None)


def _remember(record: SetupRecord) -> None:
    rows = json.loads(SETUP_RESULTS.read_text()) if SETUP_RESULTS.exists() else []
    row = record.to_dict() | {"date": f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}"}
    rows = sorted(
        [r for r in rows if r["circuit_id"] != record.circuit_id] + [row], key=lambda r: r["circuit_id"]
    )
    SETUP_RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


def _cached_setup(cid: str, constraints: int) -> SetupRecord:
    """Cached keys: their setup as an earlier run of this bench, or ``prover_bench.sh``, measured it."""
    if (mine := _remembered(cid)) is not None:
        return SetupRecord(
            cid, constraints, False, mine["seconds"], mine["cpu_seconds"], mine["peak_rss_mib"],
            f"cached keys; setup measured by this bench on {mine['date']} ({SETUP_RESULTS.name})",
        )  # fmt: skip
    rows = json.loads(PROVER_RESULTS.read_text()) if PROVER_RESULTS.exists() else []
    row = next((r for r in rows if r["circuitId"] == cid), None)
    if row is None:
        return SetupRecord(cid, constraints, False, None, None, None, "cached keys; setup not measured")
    return SetupRecord(
        cid, constraints, False, row["setupSeconds"], row["setupCpuSeconds"], row["setupPeakRssMiB"],
        "cached keys; setup as benchmarks/prover_bench.sh measured it (benchmarks/results/prover.json)",
    )  # fmt: skip


def ensure_keys(n: int, p: int) -> SetupRecord:
    """The size's dev keys, set up now (and measured) unless cached."""
    cid = circuit_id(n, p, "agent")
    if (keys_dir(n, p, "agent") / "proving.key").exists():
        return _cached_setup(cid, constraint_count(n, p))
    args = [str(default_binary()), "setup", "--dev", *_flags(n, p)]
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage: its peak memory, its CPU
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        if proc.returncode != 0:
            tail = log.read()[-500:]
            raise ConfigurationError(f"aep2-prover setup {n}x{p} failed ({proc.returncode}): {tail}")
    if not (keys_dir(n, p, "agent") / "proving.key").exists():
        raise ConfigurationError(
            f"aep2-prover set up keys, but not in {keys_dir(n, p, 'agent')}: the binary's agent circuit "
            "version is not aep2.prover's AGENT_CIRCUIT_VERSION (rebuild it: make circuits)"
        )
    record = SetupRecord(
        cid, constraint_count(n, p), True, round(time.monotonic() - started, 1),
        round(usage.ru_utime + usage.ru_stime, 1), usage.ru_maxrss // 1024, "this run",
    )  # fmt: skip
    _remember(record)
    return record


class MeteredProver(ProverProcess):
    """A ``ProverProcess`` that remembers its child, so its memory and CPU can be read from ``/proc``."""

    pid: int | None = None

    def _start(self) -> subprocess.Popen[str]:
        proc = super()._start()
        self.pid = proc.pid
        return proc

    def _proc_file(self, name: str) -> str:
        if self.pid is None:
            raise RuntimeError("the prover has not started")
        return Path(f"/proc/{self.pid}/{name}").read_text()

    def peak_rss_mib(self) -> int:
        """The child's peak resident memory so far (``VmHWM``), MiB."""
        line = next(x for x in self._proc_file("status").splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) // 1024

    def cpu_seconds(self) -> float:
        """The child's user + system CPU seconds so far (all its threads)."""
        fields = self._proc_file("stat").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
