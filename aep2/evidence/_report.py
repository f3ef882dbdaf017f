"""What a verification found: the checks that passed, in order, and the parts the file lacks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One passed check: its name (``signature``, ``proof``, ``transaction``, ...) and what it showed."""

    name: str
    detail: str

    def line(self) -> str:
        return f"ok      {self.name:<13} {self.detail}"


@dataclass(frozen=True)
class Report:
    """Every check passed; ``absent`` names the parts of the file there was nothing to check for."""

    checks: tuple[Check, ...]
    absent: tuple[str, ...]

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks] + [f"absent  {part}" for part in self.absent]
