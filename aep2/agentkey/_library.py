"""Load ``libaep2agent`` (the Go agent-key code, built by ``make circuits``) once per process.

A payee verifies an agent signature on every call, so the Go code runs in process
through ctypes rather than behind a subprocess; ctypes releases the GIL for the
call, so threads verify in parallel.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from pathlib import Path
from typing import Final

from aep2.devnet import repo_root
from aep2.errors import ConfigurationError

LIBRARY_NAME: Final = "libaep2agent.so"
ABI_VERSION: Final = 1

# Buffer sizes of the C ABI (circuits/cmd/libaep2agent).
SEED_SIZE: Final = 32
PRIVATE_KEY_SIZE: Final = 96
PUBLIC_KEY_SIZE: Final = 32
HASH_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
MANDATE_SIZE: Final = 140

# Status codes of the C ABI.
OK: Final = 0
INVALID: Final = 1
ERR_NULL: Final = -1
ERR_PRIVATE_KEY: Final = -2
ERR_PUBLIC_KEY: Final = -3
ERR_SIGNATURE: Final = -4
ERR_MESSAGE: Final = -5
ERR_MANDATE: Final = -6
ERR_INTERNAL: Final = -7

_FUNCTIONS: Final = {
    "aep2_agent_generate_key": 2,
    "aep2_agent_public_key": 2,
    "aep2_agent_mandate_hash": 2,
    "aep2_agent_sign": 3,
    "aep2_agent_sign_mandate": 3,
    "aep2_agent_verify": 3,
    "aep2_agent_verify_mandate": 3,
}


def library_path() -> Path:
    """``$AEP2_AGENT_LIB``, else the checkout's ``bin/libaep2agent.so`` (``make circuits``).

    No search of system paths: a stale copy elsewhere must never answer for this checkout.
    """
    if env := os.environ.get("AEP2_AGENT_LIB"):
        return Path(env)
    return repo_root() / "bin" / LIBRARY_NAME


@cache
def library() -> ctypes.CDLL:
    """The loaded library with its prototypes declared; raises :class:`ConfigurationError` if unusable."""
    path = library_path()
    if not path.is_file():
        raise ConfigurationError(
            f"{path} not found: build it with `make circuits` or set AEP2_AGENT_LIB", path=str(path)
        )
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise ConfigurationError(f"cannot load {path}: {exc}", path=str(path)) from None
    lib.aep2_agent_abi_version.argtypes = []
    lib.aep2_agent_abi_version.restype = ctypes.c_int
    version = lib.aep2_agent_abi_version()
    if version != ABI_VERSION:
        raise ConfigurationError(
            f"{path} speaks ABI {version}, this package ABI {ABI_VERSION}: rebuild with `make circuits`",
            path=str(path),
        )
    for name, arity in _FUNCTIONS.items():
        function = getattr(lib, name)
        function.argtypes = [ctypes.c_char_p] * arity
        function.restype = ctypes.c_int
    return lib
