"""The :class:`~aep2.payee.chain_view.ChainView` over the escrow contract, through web3.py.

The reads go through :class:`aep2.chain.EscrowClient` (the forge artefact's
ABI, so a renamed view breaks here, not silently): ``balance(payer, token)``
(a pending withdrawal included), ``pendingWithdrawal(payer, token)``,
``reservation(payer, payee, token)``, ``pendingRelease(payer, payee, token)`` and
``highWater(payer, payee)``; for agent mandates (it is an ``AgentKeyView`` too)
``agentKey(keyId)`` and ``agentHighWater(keyId, payee)``. Reads are cached per key
and dropped when an escrow log names the payer, or the agent key id, in an indexed
topic (deposits, withdrawals, settlements, grants, revocations and cap lowerings all
do); a cached value is never used past ``max_age`` seconds, which callers set no
longer than the settlement horizon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from web3 import Web3

from aep2.chain import AgentKeyInfo, EscrowClient
from aep2.errors import ConfigurationError
from aep2.payee.chain_view import PayerPosition

_KEY_ID_LIMIT = 1 << 64
"""Indexed topics below this are key ids (``uint64 indexed keyId``), never addresses in practice."""


_T = TypeVar("_T")


@dataclass
class _Cached:
    position: PayerPosition
    fetched_at: float


@dataclass
class Web3ChainView:
    """Escrow reads with a per-(payer, payee, token) cache invalidated by the escrow's logs."""

    w3: Web3
    escrow: str
    max_age: float = 60.0
    poll_interval: float = 1.0
    _cache: dict[tuple[str, str, str], _Cached] = field(default_factory=dict)
    _keys: dict[int, tuple[AgentKeyInfo | None, float]] = field(default_factory=dict)
    _marks: dict[tuple[int, str], tuple[int, float]] = field(default_factory=dict)
    _next_block: int | None = None
    _polled_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._escrow = EscrowClient.at(self.w3, self.escrow)

    def position(self, *, payer: str, payee: str, token: str) -> PayerPosition:
        self._poll_or_fail()
        key = (payer, payee, token)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached.fetched_at < self.max_age:
            return cached.position
        position = self._call(lambda: self._read(payer=payer, payee=payee, token=token))
        self._cache[key] = _Cached(position, now)
        return position

    def agent_key(self, key_id: int) -> AgentKeyInfo | None:
        """The escrow's record of agent key ``key_id`` (None: no such key), cached like positions."""
        self._poll_or_fail()
        cached = self._keys.get(key_id)
        if cached is not None and time.monotonic() - cached[1] < self.max_age:
            return cached[0]
        record = self._call(lambda: self._escrow.agent_key(key_id))
        self._keys[key_id] = (record, time.monotonic())
        return record

    def agent_high_water(self, *, key_id: int, payee: str) -> int:
        """The nonce high-water mark settled for (agent key, payee), cached like positions."""
        self._poll_or_fail()
        cached = self._marks.get((key_id, payee))
        if cached is not None and time.monotonic() - cached[1] < self.max_age:
            return cached[0]
        mark = self._call(lambda: self._escrow.agent_high_water(key_id, payee))
        self._marks[(key_id, payee)] = (mark, time.monotonic())
        return mark

    def _poll_or_fail(self) -> None:
        try:
            self.poll_events()
        except Exception as exc:  # without the logs no cached value can be trusted: fail closed, as 503
            raise ConfigurationError(
                f"cannot read the escrow {self.escrow}'s logs: {exc}", escrow=self.escrow
            ) from exc

    def _call(self, read: Callable[[], _T]) -> _T:
        try:
            return read()
        except Exception as exc:  # web3 raises many unrelated types; to the payer all are "try later"
            raise ConfigurationError(
                f"cannot read the escrow {self.escrow}: {exc}", escrow=self.escrow
            ) from exc

    def _read(self, *, payer: str, payee: str, token: str) -> PayerPosition:
        balance = self._escrow.balance(payer, token)
        withdrawal = self._escrow.pending_withdrawal(payer, token)
        reserved = self._escrow.reservation(payer, payee, token)
        release = self._escrow.pending_release(payer, payee, token) if reserved else None
        high_water = self._escrow.high_water(payer, payee)
        return PayerPosition(
            balance=balance,
            pending_withdrawal=withdrawal.amount,
            high_water=high_water,
            withdrawal_ready_at=withdrawal.ready_at,
            reserved=reserved,
            pending_release=release.amount if release else 0,
            release_ready_at=release.ready_at if release else 0,
        )

    def poll_events(self, *, force: bool = False) -> int:
        """Drop cache entries of every payer an escrow log names since the last poll; returns how many."""
        now = time.monotonic()
        if not force and now - self._polled_at < self.poll_interval:
            return 0
        with self._lock:
            self._polled_at = now
            latest = int(self.w3.eth.block_number)
            if self._next_block is None:
                self._next_block = latest + 1
                return 0
            if latest < self._next_block:
                return 0
            logs = self.w3.eth.get_logs(
                {"address": self._escrow.contract.address, "fromBlock": self._next_block, "toBlock": latest}
            )
            self._next_block = latest + 1
            topics = [bytes(topic) for log in logs for topic in log["topics"][1:]]
            named = {"0x" + topic[-20:].hex() for topic in topics}
            key_ids = {n for n in (int.from_bytes(t, "big") for t in topics) if n < _KEY_ID_LIMIT}
            stale = [key for key in self._cache if key[0].lower() in named]
            for key in stale:
                del self._cache[key]
            stale_keys = [k for k in self._keys if k in key_ids]
            for k in stale_keys:
                del self._keys[k]
            stale_marks = [m for m in self._marks if m[0] in key_ids]
            for m in stale_marks:
                del self._marks[m]
            return len(stale) + len(stale_keys) + len(stale_marks)
