"""Issue #14, item 2: ``aep2 payee init`` writes a commented config that ``serve`` loads, and the
config's MCP tools and A2A skill are mounted beside its HTTP routes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from eth_account import Account
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from aep2.cli import app
from aep2.devnet.state import DeployedVerifier, DevnetState, KeyPair, write_state
from aep2.errors import ConfigurationError
from aep2.payee import Settings, StaticChainView, create_app, load_settings
from aep2.payee.init_config import TEMPLATE
from aep2.store import create_schema, make_engine
from aep2.transports.paid_app import AGENT_CARD_PATH, mount_paid_transports
from tests import payee_support as s

runner = CliRunner()


def devnet_file(
    tmp_path: Path, rpc_url: str = "http://127.0.0.1:8545", verifiers: list[DeployedVerifier] | None = None
) -> tuple[Path, DevnetState]:
    state = DevnetState(
        rpc_url=rpc_url, chain_id=31337, anvil_pid=1, port=8545, log="anvil.log", token=s.TOKEN,
        escrow=s.ESCROW, withdraw_delay=86400, verifiers=verifiers or [],
        payee=KeyPair.of(bytes.fromhex("22" * 32)),
        submitter=KeyPair.of(bytes.fromhex("33" * 32)), payers=[], deposit=1, env={},
    )  # fmt: skip
    path = tmp_path / "devnet.json"
    write_state(path, state)
    return path, state


def test_init_from_a_devnet_writes_a_config_serve_loads_with_the_devnet_payee(tmp_path: Path) -> None:
    devnet, state = devnet_file(tmp_path)
    done = runner.invoke(app, ["payee", "init", "--from-devnet", str(devnet), "--dir", str(tmp_path / "p")])
    assert done.exit_code == 0, done.output
    config, key = tmp_path / "p" / "payee.yaml", tmp_path / "p" / "payee.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    settings = load_settings(config)
    assert settings.payee == state.payee.address
    assert (settings.chain_id, settings.escrow, settings.tokens, settings.rpc_url) == (
        31337, s.ESCROW, [s.TOKEN], state.rpc_url,
    )  # fmt: skip
    assert [r.path for r in settings.routes] == ["/weather"]
    assert [(t.name, t.handler) for t in settings.tools] == [("get_weather", "weather")]
    assert [(k.id, k.handler) for k in settings.skills] == [("oracle", "oracle")]
    assert settings.database_url == f"sqlite:///{(tmp_path / 'p' / 'payee.db').resolve()}"
    assert settings.mandate_kinds == ["eip712"]  # no agent verifier on this devnet


def test_init_from_a_devnet_with_an_agent_verifier_accepts_both_kinds(tmp_path: Path) -> None:
    agent = DeployedVerifier(id=2, n=1, p=1, address=s.ESCROW, family="agent")
    devnet, _ = devnet_file(tmp_path, verifiers=[agent])
    done = runner.invoke(app, ["payee", "init", "--from-devnet", str(devnet), "--dir", str(tmp_path / "p")])
    assert done.exit_code == 0, done.output
    assert load_settings(tmp_path / "p" / "payee.yaml").mandate_kinds == ["eip712", "agent"]


def test_every_settings_field_is_explained_in_the_template() -> None:
    documented = set(yaml.safe_load(TEMPLATE.format_map(_Blank())))
    fields = set(Settings.model_fields) - {"payee_key"} | {"payee_key_file"}
    assert documented == fields


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "x"


def test_init_generates_a_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    args = ["payee", "init", "--dir", str(tmp_path), "--chain-id", "8453", "--rpc-url", "http://rpc.example",
            "--escrow", s.ESCROW, "--token", s.TOKEN]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    key = (tmp_path / "payee.key").read_text().strip()
    assert load_settings(tmp_path / "payee.yaml").payee == Account.from_key(key).address
    again = runner.invoke(app, args)
    assert again.exit_code != 0 and isinstance(again.exception, ConfigurationError)
    assert "refusing to overwrite" in str(again.exception)
    assert (tmp_path / "payee.key").read_text().strip() == key
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert (tmp_path / "payee.key").read_text().strip() != key


def test_init_without_a_chain_says_what_it_needs(tmp_path: Path) -> None:
    done = runner.invoke(app, ["payee", "init", "--dir", str(tmp_path), "--chain-id", "1"])
    assert isinstance(done.exception, ConfigurationError)
    assert "--from-devnet" in str(done.exception)


def test_init_refuses_a_devnet_file_of_a_remote_chain(tmp_path: Path) -> None:
    devnet, _ = devnet_file(tmp_path, rpc_url="http://10.1.2.3:8545")
    done = runner.invoke(app, ["payee", "init", "--from-devnet", str(devnet), "--dir", str(tmp_path)])
    assert isinstance(done.exception, ConfigurationError)
    assert "local chain" in str(done.exception)


def test_a_config_declares_at_most_one_a2a_skill() -> None:
    skill = {"id": "a", "price": 1}
    with pytest.raises(ValidationError, match="at most 1"):
        s.settings(skills=[skill, {**skill, "id": "b"}])


def test_an_unknown_handler_is_a_configuration_error(tmp_path: Path) -> None:
    settings = s.settings(tools=[{"name": "t", "price": 1, "handler": "nope"}])
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    app_ = create_app(settings=settings, engine=engine, chain=StaticChainView())
    with pytest.raises(ConfigurationError, match="unknown tool handler 'nope'"):
        mount_paid_transports(app_, settings, "http://127.0.0.1:1")


def test_serve_mounts_the_configured_tools_and_skill(tmp_path: Path) -> None:
    settings = s.settings(
        tools=[{"name": "get_weather", "price": 7, "handler": "weather"}],
        skills=[{"id": "oracle", "price": 9, "handler": "oracle"}],
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    app_ = create_app(settings=settings, engine=engine, chain=StaticChainView())
    mount_paid_transports(app_, settings, "http://payee.example")
    with TestClient(app_) as client:
        card = client.get(AGENT_CARD_PATH).json()
        assert card["url"] == "http://payee.example/a2a/"
        assert [k["id"] for k in card["skills"]] == ["oracle"]
        listed = client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream", "host": "payee.example"},
        )
        assert [t["name"] for t in listed.json()["result"]["tools"]] == ["get_weather"]
        rebound = client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream", "host": "evil.example"},
        )
        assert rebound.status_code == 421  # DNS rebinding protection: only the served hosts
