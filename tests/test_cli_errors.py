"""Issue #14, defect 10: every ``aep2`` command answers bad arguments with a message, not a traceback,
and ``aep2 status`` reads the store it is pointed at without ever creating an empty one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aep2.cli import app
from aep2.cli._errors import run_reporting_errors
from aep2.store import create_schema, make_engine
from tests import payee_support as s


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AEP2_DATABASE_URL"} | {"HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "aep2", *args], capture_output=True, text=True, timeout=120, env=env, cwd=home
    )


def assert_user_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


def test_status_without_a_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    done = run(["status"], tmp_path)
    assert_user_error(done, "aep2: configuration: no aep2 store at")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".aep2" / "payee.db").exists()


def test_status_reads_the_store_of_db_or_config(tmp_path: Path) -> None:
    import aep2.settlement.models  # noqa: F401  (the settlement tables)

    store = tmp_path / "payee.db"
    engine = make_engine(f"sqlite:///{store}")
    create_schema(engine)
    engine.dispose()
    assert run(["status", "--db", f"sqlite:///{store}"], tmp_path).returncode == 0
    (tmp_path / "payee.key").write_text(s.PAYEE_KEY)
    config = tmp_path / "payee.yaml"
    config.write_text(
        f"chain_id: 31337\nescrow: '{s.ESCROW}'\ntokens: ['{s.TOKEN}']\npayee_key_file: payee.key\n"
        f"database_url: sqlite:///{store}\n"
    )
    done = run(["status", "--config", str(config)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "mandates by state" in done.stdout


def test_status_refuses_a_database_that_is_not_a_store(tmp_path: Path) -> None:
    empty = tmp_path / "other.db"
    make_engine(f"sqlite:///{empty}").connect().close()
    assert_user_error(run(["status", "--db", f"sqlite:///{empty}"], tmp_path), "holds no aep2 store")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["payee", "serve", "--config", "missing.yaml"], "missing.yaml"),
        (["payee", "serve", "--config", "bad.yaml"], "aep2: invalid configuration"),
        (["payee", "serve", "--config", "broken.yaml"], "aep2: "),
        (["status", "--config", "bad.yaml"], "aep2: invalid configuration"),
        (["pay", "http://127.0.0.1:9/x", "--key-file", "nokey", "--policy", "x.yaml"], "cannot set up"),
        (["mandate", "digest", "missing.json"], "missing.json"),
        (["mandate", "verify", "broken.yaml"], "mandate_malformed"),
        (["settle"], "only --now"),
        (["devnet", "status", "--file", "missing.json"], "aep2: configuration: no devnet file at"),
        (["devnet", "down", "--file", "missing.json"], "aep2: configuration: no devnet file at"),
        (["payee", "init", "--chain-id", "1"], "aep2: configuration: pass --from-devnet FILE"),
        (["payee", "init", "--from-devnet", "missing.json"], "aep2: configuration: no devnet file at"),
        (["pay", "http://127.0.0.1:9/x", "--policy", "x.yaml"], "pass --key-file FILE or --devnet FILE"),
        (
            ["pay", "u", "--key-file", "nokey", "--policy", "x.yaml", "--mcp-tool", "t", "--a2a-skill", "s"],
            "exclude",
        ),
        (["no-such-command"], "No such command"),
    ],
)
def test_bad_arguments_get_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    """In process (one import, many commands), through the same error shell as the ``aep2`` script."""
    (tmp_path / "bad.yaml").write_text("chain_id: -1\nescrow: nope\n")
    (tmp_path / "broken.yaml").write_text("chain_id: [unclosed\n")
    absolute = [str(tmp_path / a) if a.endswith((".yaml", ".json")) or a == "nokey" else a for a in args]
    with pytest.raises(SystemExit) as exit_:
        run_reporting_errors(lambda: app(args=absolute, prog_name="aep2"))
    assert exit_.value.code not in (0, None)
    err = capsys.readouterr().err
    assert "Traceback" not in err and fragment in err, err
