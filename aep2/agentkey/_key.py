"""An agent key held in this process: generated, loaded and saved without ever being shown."""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
from pathlib import Path

from aep2.agentkey import _library as lib
from aep2.agentkey._mandate import AgentMandate
from aep2.agentkey._signature import message_hash, sign_digest_with, sign_with
from aep2.agentkey._wire import SignedAgentMandate
from aep2.errors import ConfigurationError
from aep2.mandate import Domain

KEY_FILE_MODE = 0o600


class AgentKey:
    """An EdDSA (Baby Jubjub) agent key: gnark-crypto's 96-byte private key.

    The secret stays inside: ``repr`` and ``str`` show only the public key, and the bytes
    leave only through :meth:`save` or the deliberately named :meth:`unsafe_private_key_bytes`.
    """

    __slots__ = ("__secret", "_public_key")

    def __init__(self, private_key: bytes) -> None:
        """Wrap a 96-byte private key, checking it (pruned scalar, matching public key)."""
        if not isinstance(private_key, bytes) or len(private_key) != lib.PRIVATE_KEY_SIZE:
            raise ConfigurationError(f"an agent private key is {lib.PRIVATE_KEY_SIZE} bytes")
        public = ctypes.create_string_buffer(lib.PUBLIC_KEY_SIZE)
        if lib.library().aep2_agent_public_key(private_key, public) != lib.OK:
            raise ConfigurationError("malformed agent private key (not gnark-crypto's 96-byte form)")
        self.__secret = private_key
        self._public_key = public.raw

    @classmethod
    def generate(cls) -> AgentKey:
        """A fresh key from 32 bytes of ``os.urandom``."""
        private = ctypes.create_string_buffer(lib.PRIVATE_KEY_SIZE)
        status = lib.library().aep2_agent_generate_key(os.urandom(lib.SEED_SIZE), private)
        if status != lib.OK:
            raise ConfigurationError(f"agent key generation failed with status {status}")
        return cls(private.raw)

    @classmethod
    def load(cls, path: Path) -> AgentKey:
        """Read a key file (``0x``-hex on one line), refusing one that others may read."""
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            raise ConfigurationError(f"no agent key file at {path}", path=str(path)) from None
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} is readable by others (mode {mode:o}); chmod 600 it", path=str(path)
            )
        text = path.read_text().strip()
        try:
            if not text.startswith("0x"):
                raise ValueError
            private_key = bytes.fromhex(text[2:])
        except ValueError:
            raise ConfigurationError(f"{path} does not hold 0x-hex", path=str(path)) from None
        return cls(private_key)

    def save(self, path: Path, *, overwrite: bool = False) -> None:
        """Write the key file atomically with mode 0600: a temporary file in the same folder,
        created 0600 (never briefly wider), fsynced, then renamed over ``path``."""
        if path.exists() and not overwrite:
            raise ConfigurationError(f"{path} exists; refusing to overwrite a key", path=str(path))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        try:
            with os.fdopen(fd, "w") as file:
                file.write("0x" + self.__secret.hex() + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    @property
    def public_key(self) -> bytes:
        """The 32-byte compressed public key: the grant's ``key``."""
        return self._public_key

    def sign(self, domain_separator: bytes, mandate: AgentMandate) -> bytes:
        """The 64-byte signature of ``mandate`` under ``domain_separator`` (deterministic)."""
        return sign_with(self.__secret, domain_separator, mandate)

    def sign_mandate(
        self, domain: Domain, mandate: AgentMandate, *, digest: bytes | None = None
    ) -> SignedAgentMandate:
        """``mandate`` signed under ``domain``, its message hash ``M`` computed once for signing
        and every later use (:attr:`SignedAgentMandate.digest`).

        ``digest``: ``M`` if the caller computed it already (``message_hash(domain.separator,
        mandate)``; the payer logs it before signing). It is trusted: the key signs it as given.
        """
        if digest is None:
            digest = message_hash(domain.separator, mandate)
        signature = sign_digest_with(self.__secret, digest)
        return SignedAgentMandate._with_digest(
            domain=domain, mandate=mandate, signature=signature, digest=digest
        )

    def unsafe_private_key_bytes(self) -> bytes:
        """The 96 secret bytes. Anything that holds them can spend up to the key's cap."""
        return self.__secret

    def __repr__(self) -> str:
        return f"AgentKey(public_key=0x{self._public_key.hex()})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("an AgentKey is not picklable: save it to a key file instead")


def sign(key: AgentKey, domain_separator: bytes, mandate: AgentMandate) -> bytes:
    """The 64-byte signature of ``mandate`` by ``key`` under ``domain_separator``."""
    return key.sign(domain_separator, mandate)
