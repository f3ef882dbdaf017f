"""Count the agent library's calls: what a hot path hashes, signs and verifies, and how often."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from aep2.agentkey import _library


class _CountingLibrary:
    def __init__(self, real: Any) -> None:
        self._real = real
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        function = getattr(self._real, name)

        def counted(*args: Any) -> Any:
            self.calls[name] += 1
            return function(*args)

        return counted


def count_library_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """From now on (for the test), every ``aep2_agent_*`` call counted by name."""
    counting = _CountingLibrary(_library.library())
    monkeypatch.setattr(_library, "library", lambda: counting)
    return counting.calls
