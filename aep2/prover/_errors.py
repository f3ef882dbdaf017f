"""Errors of the prover client."""

from __future__ import annotations

from aep2.errors import ConfigurationError


class ProverError(ConfigurationError):
    """The prover could not produce or check a proof."""


class ProverRejected(ProverError):
    """``aep2-prover`` answered with an error; ``code`` is its machine code (circuits/README.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"aep2-prover: {code}: {message}", code=code)
        self.code = code


class ProverTimeout(ProverError):
    """A request ran past its timeout; the process was killed and restarts on the next request."""


class ProverCrashed(ProverError):
    """The prover process exited; it is restarted for the next request."""
