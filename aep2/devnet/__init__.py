"""Local services for development, tests and the demo: anvil and Redis started on 127.0.0.1."""

from aep2.devnet._process import free_port, stop, wait_for_port
from aep2.devnet._tools import find_tool, repo_root
from aep2.devnet.anvil import Anvil
from aep2.devnet.redis import RedisServer

__all__ = ["Anvil", "RedisServer", "find_tool", "free_port", "repo_root", "stop", "wait_for_port"]
