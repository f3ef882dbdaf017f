"""Run and supervise ``aep2-prover serve``: one JSON line per request, one reply line each."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from aep2.devnet import repo_root
from aep2.prover._agent_request import AgentProveRequest
from aep2.prover._circuit import Family
from aep2.prover._errors import ProverCrashed, ProverError, ProverRejected, ProverTimeout
from aep2.prover._request import ProveRequest
from aep2.prover._verify import Proof

_EOF = object()


def default_binary() -> Path:
    """``$AEP2_PROVER``, else the checkout's ``bin/aep2-prover`` (``make circuits``), else ``PATH``.

    The checkout's build comes before ``PATH`` so a stale install elsewhere never answers.
    """
    if env := os.environ.get("AEP2_PROVER"):
        return Path(env)
    candidate = repo_root() / "bin" / "aep2-prover"
    if candidate.exists():
        return candidate
    found = shutil.which("aep2-prover")
    if found is None:
        raise ProverError("aep2-prover not found: build it with `make circuits` or set AEP2_PROVER")
    return Path(found)


class ProverProcess:
    """A long-lived ``aep2-prover serve`` child, restarted after a crash or a timeout.

    Requests are serialized (the prover handles one at a time). ``timeout`` bounds each
    request in seconds; a request that runs past it kills the process.
    """

    def __init__(
        self, binary: Path | None = None, *, home: Path | None = None, timeout: float = 900.0
    ) -> None:
        self._binary = binary or default_binary()
        self._home = home
        self._timeout = timeout
        self._proc: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._reader: threading.Thread | None = None
        self.restarts = 0

    def __enter__(self) -> ProverProcess:
        return self

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[str]:
        args = [str(self._binary), "serve"]
        if self._home is not None:
            args += ["--home", str(self._home)]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self._replies = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(proc, self._replies), daemon=True)
        self._reader.start()
        return proc

    @staticmethod
    def _read(proc: subprocess.Popen[str], replies: queue.Queue[object]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                replies.put(line)
        replies.put(_EOF)

    def _reap(self, proc: subprocess.Popen[str]) -> None:
        """Wait for an ended process and its reader, closing its pipes."""
        proc.wait()
        if proc.stdin is not None:
            # its buffer may hold a request the dead process never read
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if self._reader is not None:
            self._reader.join(timeout=5)

    def _ensure(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is not None:
            self._reap(self._proc)
            self._proc = None
            self.restarts += 1
        if self._proc is None:
            self._proc = self._start()
        return self._proc

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._reap(self._proc)
            self._proc = None
            self.restarts += 1

    def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Send one request and return its ``result``; raise a :class:`ProverError` otherwise."""
        with self._lock:
            proc = self._ensure()
            rid = next(self._ids)
            line = json.dumps({"id": rid, "method": method, "params": params or {}})
            try:
                assert proc.stdin is not None
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                raise ProverCrashed(f"aep2-prover exited before {method}: {exc}") from exc
            try:
                raw = self._replies.get(timeout=timeout or self._timeout)
            except queue.Empty:
                self._kill()
                raise ProverTimeout(
                    f"aep2-prover {method} took longer than {timeout or self._timeout}s"
                ) from None
            if raw is _EOF:
                self._kill()
                raise ProverCrashed(f"aep2-prover exited during {method}")
            try:
                reply = json.loads(str(raw))
            except json.JSONDecodeError:
                self._kill()
                raise ProverError(f"aep2-prover wrote a non-JSON line: {str(raw)[:200]!r}") from None
        if not isinstance(reply, dict) or reply.get("id") != rid:
            raise ProverError(f"aep2-prover answered {reply!r:.200} to request {rid}")
        if "error" in reply:
            raise ProverRejected(reply["error"]["code"], reply["error"]["message"])
        return reply["result"]

    def prove(
        self, request: ProveRequest | AgentProveRequest, *, n: int, p: int, timeout: float | None = None
    ) -> Proof:
        """Prove ``request`` with the keys of size (n, p) of its family (an agent request: ``agent``)."""
        family: Family = "agent" if isinstance(request, AgentProveRequest) else "batch"
        params = _size(n, p, family) | {"request": request.to_json()}
        result = self.request("prove", params, timeout=timeout)
        return Proof(
            proof=result["proof"], public_input=int(result["publicInput"]), circuit_id=result["circuitId"]
        )

    def verify(self, proof: Proof, *, n: int, p: int, family: Family = "batch") -> bool:
        """True if the prover's verifier accepts ``proof``, False if it does not verify."""
        params = _size(n, p, family) | {"proof": proof.to_json()}
        try:
            return bool(self.request("verify", params)["valid"])
        except ProverRejected as exc:
            if exc.code == "bad_proof":
                return False
            raise

    def info(self, *, n: int, p: int, family: Family = "batch") -> dict[str, Any]:
        result: dict[str, Any] = self.request("info", _size(n, p, family))
        return result

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                self._reap(self._proc)
                self._proc = None


def _size(n: int, p: int, family: Family) -> dict[str, Any]:
    """A request's size parameters; ``family`` is sent only when not the default batch family."""
    params: dict[str, Any] = {"n": n, "p": p}
    if family != "batch":
        params["family"] = family
    return params
