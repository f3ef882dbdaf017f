"""A throwaway PostgreSQL cluster on 127.0.0.1 for the store's concurrency tests.

Installs Debian's ``postgresql`` when it is missing and we are root, runs
``initdb`` in a temp dir as the unprivileged ``postgres`` user (initdb refuses
root), starts the server on a free port and stops it by PID. Returns ``None``
with the reason when no server can be started, so callers can skip clearly.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from aep2.devnet._process import free_port
from aep2.store import create_schema, make_engine


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _install() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "postgresql"], check=False, env=env, capture_output=True
    )


def _as_user(user: str | None) -> list[str]:
    if user is None:
        return []
    return ["runuser", "-u", user, "--"] if shutil.which("runuser") else ["su", user, "-s", "/bin/sh", "-c"]


@dataclass
class PostgresServer:
    url: str
    datadir: str
    bindir: str
    user: str | None
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            stop = [
                *_as_user(self.user),
                f"{self.bindir}/pg_ctl",
                "stop",
                "-D",
                self.datadir,
                "-m",
                "fast",
                "-w",
            ]
            subprocess.run(stop, capture_output=True, timeout=30, check=False)
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.datadir, ignore_errors=True)


def start_postgres() -> PostgresServer | str:
    """A running cluster, or the reason there is none."""
    bindir = _bindir()
    if bindir is None:
        _install()
        bindir = _bindir()
    if bindir is None:
        return "PostgreSQL is not installed and could not be installed from Debian (needs root and apt-get)"
    user = "postgres" if os.geteuid() == 0 else None
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return "running as root but there is no 'postgres' user to run initdb as"
    datadir = tempfile.mkdtemp(prefix="aep2-pg-")
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(datadir, entry.pw_uid, entry.pw_gid)
    prefix = _as_user(user)
    init = subprocess.run(
        [*prefix, f"{bindir}/initdb", "-D", datadir, "-U", "aep2", "--auth=trust", "-E", "UTF8", "--no-sync"],
        capture_output=True,
    )
    if init.returncode != 0:
        return f"initdb failed: {init.stderr.decode()[-300:]}"
    port = free_port()
    args = [*prefix, f"{bindir}/postgres", "-D", datadir, "-p", str(port), "-h", "127.0.0.1",
            "-k", datadir, "-c", "fsync=off", "-c", "max_connections=100"]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = PostgresServer(
        f"postgresql+psycopg://aep2@127.0.0.1:{port}/postgres", datadir, bindir, user, process
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [f"{bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        )
        if ready.returncode == 0:
            return server
        if process.poll() is not None:
            break
        time.sleep(0.2)
    server.stop()
    return "PostgreSQL did not become ready within 30 s"


def store_engine(request: pytest.FixtureRequest, tmp_path: Path, **options: Any) -> Iterator[Engine]:
    """A fresh payee store on ``request.param`` ("sqlite" or "postgresql"), for fixtures
    parametrized over both; ``options`` go to ``make_engine`` for PostgreSQL (e.g. a pool size)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        engine = make_engine(server.url, **options)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    create_schema(engine)
    yield engine
    engine.dispose()
