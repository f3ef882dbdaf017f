"""A transcript's progress as ``aep2-prover ceremony status`` reads it: states, contributors,
hashes, seals and the file the coordinator expects next. Nothing here checks a proof
(:func:`aep2.ceremony.verify_transcript` does)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aep2.ceremony._prover import run_json


@dataclass(frozen=True)
class State:
    """One state file: the initial one (index 0) or a contribution, with what its receipt says."""

    index: int
    file: str
    hash: str
    contributor: str | None = None
    follows: str | None = None
    seconds: float | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> State:
        return cls(d["index"], d["file"], d["hash"], d.get("contributor"), d.get("follows"), d.get("seconds"))


@dataclass(frozen=True)
class Phase:
    """Phase 1, or one circuit's phase 2."""

    phase: int
    circuit_id: str | None
    power: int
    states: tuple[State, ...]
    sealed: bool
    beacon: dict[str, str] | None
    next_from: str | None
    next_file: str | None
    problems: tuple[str, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Phase:
        nxt = d.get("next") or {}
        return cls(
            phase=d["phase"],
            circuit_id=d.get("circuitId"),
            power=d["power"],
            states=tuple(State.from_json(s) for s in d["states"]),
            sealed=d["sealed"],
            beacon=d.get("beacon"),
            next_from=nxt.get("from"),
            next_file=nxt.get("file"),
            problems=tuple(d.get("problems") or ()),
        )

    @property
    def name(self) -> str:
        return "phase 1" if self.phase == 1 else f"phase 2 of {self.circuit_id}"

    @property
    def contributions(self) -> tuple[State, ...]:
        return self.states[1:]


@dataclass(frozen=True)
class Status:
    """A ceremony directory's progress."""

    dir: Path
    phase1: Phase | None
    phase2: tuple[Phase, ...]

    @property
    def phases(self) -> tuple[Phase, ...]:
        return ((self.phase1,) if self.phase1 else ()) + self.phase2

    def open_phases(self) -> tuple[Phase, ...]:
        """The phases taking contributions now: phase 1 until sealed, then every unsealed phase 2."""
        if self.phase1 is None:
            return ()
        if not self.phase1.sealed:
            return (self.phase1,)
        return tuple(p for p in self.phase2 if not p.sealed)

    def expected(self) -> str:
        """What the coordinator waits for next, in words."""
        if self.phase1 is None:
            return "nothing yet: start phase 1 with `aep2-prover ceremony phase1 init --dir DIR --power K`"
        lines = [
            f"{p.name}: contribution {len(p.states)} — hand {p.next_from} to the next participant, "
            f"who returns {p.next_file} and its receipt (or seal the phase)"
            for p in self.open_phases()
        ]
        if lines:
            return "\n".join(lines)
        if not self.phase2:
            return "phase 1 is sealed: start a circuit's phase 2 with `aep2-prover ceremony phase2 init`"
        return "every phase is sealed: run `aep2 ceremony verify` and publish the transcript"


def read_status(directory: Path) -> Status:
    """The progress of the ceremony in ``directory``."""
    d = run_json(["ceremony", "status", "--dir", str(directory)])
    return Status(
        dir=directory,
        phase1=Phase.from_json(d["phase1"]) if d.get("phase1") else None,
        phase2=tuple(Phase.from_json(p) for p in d["phase2"]),
    )
