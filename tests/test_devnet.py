"""The local-service fixtures start real processes and stop them by PID."""

from __future__ import annotations

import os

import pytest
import redis
from web3 import Web3

from aep2.devnet import Anvil, RedisServer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a reaped child is gone; a zombie would still answer, so check its state too
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_anvil_serves_rpc_and_stops_by_pid() -> None:
    chain = Anvil(chain_id=4242).start()
    pid = chain.pid
    assert pid is not None
    try:
        w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
        assert w3.eth.chain_id == 4242
        assert len(chain.private_keys) == 10
        assert w3.eth.get_balance(w3.eth.account.from_key(chain.private_keys[0]).address) > 0
    finally:
        chain.stop()
    assert not os.path.exists(f"/proc/{pid}") or not _alive(pid)


def test_redis_serves_and_survives_a_restart(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    assert client.ping()
    client.set("k", "v")
    first_pid = redis_server.pid
    redis_server.restart()
    assert redis_server.pid != first_pid
    client = redis.Redis.from_url(redis_server.url)
    assert client.ping()
    assert client.get("k") is None  # no persistence: a restart is a real broker outage
    client.close()


def test_missing_tool_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from aep2.errors import ConfigurationError

    monkeypatch.setenv("AEP2_ANVIL", "/nonexistent/anvil")
    with pytest.raises((ConfigurationError, FileNotFoundError)):
        Anvil().start()
