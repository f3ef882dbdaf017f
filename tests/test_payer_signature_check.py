"""Which signatures the payer checks after signing: every one from a signer outside this process, the
first one of a key held in it (docs/payer.md, "Performance").

Real keys, real SQLite: each bad signer signs correctly first, then goes wrong, so a check made on the
first signature only would let the second one out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from aep2.agentkey import AgentKey, AgentKeyGrant, AgentMandate, SignedAgentMandate, decode_any
from aep2.errors import PayerError, Reason
from aep2.mandate import Domain, decode
from aep2.payer import APPROVED, FAILED, AgentCredential, CallbackSigner, LocalKeySigner, Payer, Policy
from tests.conftest import ESCROW, PAYEE, PAYER_KEY, TOKEN, aep2_requirement

OTHER_KEY = bytes.fromhex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
DOMAIN = Domain(chain_id=31337, escrow=ESCROW)
AGENT_OFFER = aep2_requirement(extra={"kinds": ["agent"]})


def _agent(key: Any, public_key: bytes) -> AgentCredential:
    now = int(time.time())
    grant = AgentKeyGrant.build(
        payer=LocalKeySigner(PAYER_KEY).address, key=public_key, token=TOKEN, payee=PAYEE, cap=10**9,
        valid_after=now - 60, valid_until=now + 86400, salt=1,
    )  # fmt: skip
    return AgentCredential(key, 7, DOMAIN, grant)


class _LocalThenForeign(LocalKeySigner):
    """A subclass of the in-process signer: not the library's own, so it is checked every time."""

    def __init__(self) -> None:
        super().__init__(PAYER_KEY)
        self.calls = 0

    def unsafe_sign_digest(self, digest: bytes) -> bytes:
        self.calls += 1
        key = PAYER_KEY if self.calls == 1 else OTHER_KEY
        return LocalKeySigner(key).unsafe_sign_digest(digest)


class _AgentThenForeign:
    """An agent signer held elsewhere: its first signature is the key's, its second another key's."""

    def __init__(self, key: AgentKey) -> None:
        self._key, self._other = key, AgentKey.generate()
        self.public_key = key.public_key
        self.calls = 0

    def sign(self, domain_separator: bytes, mandate: AgentMandate) -> bytes:
        self.calls += 1
        return (self._key if self.calls == 1 else self._other).sign(domain_separator, mandate)


def _refused_second(payer: Payer, offer: dict[str, Any]) -> None:
    payer.pay(offer)
    with pytest.raises(PayerError) as caught:
        payer.pay(offer)
    assert caught.value.reason == Reason.SIGNER_FAILED
    assert [e.decision for e in payer.audit.entries()] == [APPROVED, APPROVED, FAILED]


def test_a_remote_signer_is_checked_on_every_mandate(payer_db: Path) -> None:
    calls = [0]

    def sign(typed_data: dict[str, Any]) -> bytes:
        calls[0] += 1
        return LocalKeySigner(PAYER_KEY if calls[0] == 1 else OTHER_KEY).sign_typed_data(typed_data)

    _refused_second(Payer(CallbackSigner(LocalKeySigner(PAYER_KEY).address, sign), Policy(), db=payer_db),
                    aep2_requirement())  # fmt: skip


def test_a_subclass_of_the_local_signer_is_checked_on_every_mandate(payer_db: Path) -> None:
    _refused_second(Payer(_LocalThenForeign(), Policy(), db=payer_db), aep2_requirement())


def test_an_agent_signer_elsewhere_is_checked_on_every_mandate(payer_db: Path) -> None:
    key = AgentKey.generate()
    signer = _AgentThenForeign(key)
    _refused_second(Payer(None, Policy(), agent=_agent(signer, key.public_key), db=payer_db), AGENT_OFFER)


def test_a_new_signer_object_is_checked_again(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    decode(payer.pay(aep2_requirement())).verify()
    payer.signer = _LocalThenForeign()
    payer.signer.calls = 1  # its very first signature is already the foreign one
    with pytest.raises(PayerError) as caught:
        payer.pay(aep2_requirement())
    assert caught.value.reason == Reason.SIGNER_FAILED


@pytest.mark.parametrize("kind", ["eip712", "agent"])
def test_in_process_keys_sign_every_mandate_correctly(payer_db: Path, kind: str) -> None:
    key = AgentKey.generate()
    agent = _agent(key, key.public_key) if kind == "agent" else None
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), agent=agent, db=payer_db)
    offer = AGENT_OFFER if kind == "agent" else aep2_requirement()
    for nonce in range(1, 41):  # across several nonce blocks and leases
        signed = decode_any(payer.pay(offer))
        assert signed.mandate.nonce == nonce
        if isinstance(signed, SignedAgentMandate):
            signed.verify(key.public_key)
        else:
            signed.verify()
    assert all(e.decision == APPROVED for e in payer.audit.entries())
