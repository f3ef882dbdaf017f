"""Time a whole trusted-setup ceremony, step by step, through ``aep2-prover ceremony``.

    python -m benchmarks.ceremony_timings --family agent --n 1 --p 1       # the smallest agent circuit
    python -m benchmarks.ceremony_timings --family test --n 1000 --power 10  # a 2^10 domain in seconds

Every step runs as its own process: wall seconds, CPU seconds (user + system, all cores) and peak
memory per step, with the load average around it (the machine is shared: on two cores a load of
4 halves the wall-clock share a step gets, so CPU seconds / cores is the quiet machine's wall
time). Phase 1 is sized to the circuit's domain unless ``--power`` says otherwise; keys go into a
scratch key cache. Appends one run to ``benchmarks/results/ceremony.json`` and prints a table.

A real-size ceremony takes CPU-hours on two cores, so with ``--work DIR`` each finished step is
kept in ``DIR/steps.json`` and a rerun with the same arguments resumes after the last one (the
transcript's files are written atomically: a killed step leaves nothing half-written).
``verify-transcript`` checks the seals and the circuit's points at τ by random linear
combinations; ``--recompute-too`` also times the full recomputation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aep2.prover import default_binary

RESULTS = Path(__file__).parent / "results" / "ceremony.json"
BEACON = ["--beacon", "0x" + "5e" * 32, "--beacon-source", "benchmark beacon (not random)"]


@dataclass(frozen=True)
class Step:
    name: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    load_before: float
    load_after: float


def run_step(name: str, args: list[str], stdin: bytes | None = None) -> tuple[Step, bytes]:
    """Run ``aep2-prover <args>`` and measure it alone (``wait4`` gives this child's usage)."""
    load = os.getloadavg()[0]
    start = time.monotonic()
    proc = subprocess.Popen(
        [str(default_binary()), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(stdin or b"")
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{name} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    step = Step(
        name,
        round(wall, 1),
        round(usage.ru_utime + usage.ru_stime, 1),
        round(usage.ru_maxrss / 1024),
        round(load, 2),
        round(os.getloadavg()[0], 2),
    )
    print(
        f"{name:<28} {step.wall_s:>9.1f} s wall {step.cpu_s:>9.1f} s CPU {step.peak_rss_mib:>7.0f} MiB "
        f"load {step.load_before:.1f}→{step.load_after:.1f}",
        flush=True,
    )
    return step, out


def domain_power(size: list[str], home: str) -> tuple[int, int]:
    info = json.loads(
        subprocess.run(
            [str(default_binary()), "info", "--home", home, *size], check=True, capture_output=True
        ).stdout
    )
    return info["constraints"], max(1, (info["constraints"] - 1).bit_length())


def plan(args: argparse.Namespace, transcript: str, home: str, power: int) -> list[tuple[str, list[str]]]:
    """The ceremony's commands in order: (step name, aep2-prover arguments)."""
    size = ["--family", args.family, "--n", str(args.n), "--p", str(args.p)]
    dir_ = ["--dir", transcript]
    k = args.contributors
    steps = [("phase1 init", ["ceremony", "phase1", "init", *dir_, "--power", str(power)])]
    steps += [
        (f"phase1 contribute {i}", ["ceremony", "phase1", "contribute", *dir_, "--name", f"p{i}"])
        for i in range(1, k + 1)
    ]
    steps += [
        (f"phase1 verify ({k})", ["ceremony", "phase1", "verify", *dir_]),
        ("phase1 seal (verify + seal)", ["ceremony", "phase1", "seal", *dir_, *BEACON]),
        ("phase2 init", ["ceremony", "phase2", "init", *dir_, *size]),
    ]
    steps += [
        (f"phase2 contribute {i}", ["ceremony", "phase2", "contribute", *dir_, *size, "--name", f"p{i}"])
        for i in range(1, k + 1)
    ]
    steps += [
        (f"phase2 verify ({k})", ["ceremony", "phase2", "verify", *dir_, *size]),
        (
            "phase2 seal (verify + seal)",
            ["ceremony", "phase2", "seal", *dir_, "--home", home, *size, *BEACON],
        ),
    ]
    if not args.skip_verify_transcript:
        steps.append(("verify-transcript", ["ceremony", "verify-transcript", *dir_, "--home", home]))
        if args.recompute_too:
            steps.append(
                (
                    "verify-transcript --recompute",
                    ["ceremony", "verify-transcript", *dir_, "--home", home, "--recompute"],
                )
            )
    return steps


def ceremony(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    home, transcript = str(work / "home"), str(work / "transcript")
    size = ["--family", args.family, "--n", str(args.n), "--p", str(args.p)]
    constraints, domain = domain_power(size, home)
    power = args.power or domain
    print(f"{args.family} N={args.n} P={args.p}: {constraints} constraints, 2^{domain}, phase 1 2^{power}")
    journal = work / "steps.json"
    done = {s["name"]: Step(**s) for s in json.loads(journal.read_text())} if journal.exists() else {}
    steps: list[Step] = []
    for name, cmd in plan(args, transcript, home, power):
        steps.append(done.get(name) or run_step(name, cmd)[0])
        journal.write_text(json.dumps([asdict(s) for s in steps], indent=2) + "\n")
    request = subprocess.run([str(default_binary()), "dev-request", *size], check=True, capture_output=True)
    steps.append(run_step("prove with the keys", ["prove", "--home", home, *size], request.stdout)[0])
    sizes = {p.name: p.stat().st_size for p in sorted(Path(transcript).rglob("*")) if p.is_file()}
    return {
        "family": args.family,
        "n": args.n,
        "p": args.p,
        "constraints": constraints,
        "domainPower": domain,
        "phase1Power": power,
        "contributors": args.contributors,
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "fileBytes": {"phase1State": sizes.get("0001.ph1"), "phase2State": sizes.get("0001.ph2")},
        "steps": [asdict(s) for s in steps],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--family", default="agent")
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--p", type=int, default=1)
    parser.add_argument("--power", type=int, default=0, help="phase 1's domain (default: the circuit's)")
    parser.add_argument("--contributors", type=int, default=3)
    parser.add_argument("--work", type=Path, help="keep the transcript here (default: a scratch folder)")
    parser.add_argument("--no-save", action="store_true", help="do not append to results/ceremony.json")
    parser.add_argument(
        "--skip-verify-transcript",
        action="store_true",
        help="leave out the last step, which re-checks the whole transcript",
    )
    parser.add_argument(
        "--recompute-too",
        action="store_true",
        help="also time verify-transcript --recompute, which redoes phase 2 init's group FFTs (hours)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aep2-ceremony-bench-") as tmp:
        run = ceremony(args, args.work or Path(tmp))
    if not args.no_save:
        runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
        RESULTS.write_text(json.dumps([*runs, run], indent=2) + "\n")


if __name__ == "__main__":
    main()
