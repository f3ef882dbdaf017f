"""The payer with an agent key: which kind it signs, its nonce journals, policy, audit and files.

Real SQLite, the real agent-key library; the payee side of these mandates is tests/test_payee_agent.py,
and paying a real payee over every transport is tests/test_payer_agent_transports.py.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from aep2.agentkey import (
    ANY_PAYEE,
    GRANT_TYPE_STRING,
    AgentKey,
    AgentKeyGrant,
    AgentMandate,
    SignedAgentMandate,
    decode_any,
)
from aep2.errors import ConfigurationError, PayerError, PaymentRequestError, PolicyViolation, Reason
from aep2.mandate import Domain, SignedMandate, domain_separator
from aep2.payer import (
    APPROVED,
    FAILED,
    REFUSED,
    REJECTED,
    AgentCredential,
    AuditLog,
    GrantRecord,
    LocalKeySigner,
    Payer,
    Policy,
    sidecar_path,
)
from aep2.payer._db import agent_nonces, nonces
from tests.agent_library_calls import count_library_calls
from tests.conftest import ESCROW, PAYEE, PAYER_KEY, TOKEN, aep2_requirement

SIGNER = LocalKeySigner(PAYER_KEY)
DOMAIN = Domain(chain_id=31337, escrow=ESCROW)
KEY = AgentKey.generate()
KEY_ID = 7
BOTH = ["eip712", "agent"]
OTHER_PAYEE = "0x" + "99" * 20


def grant(**changes: Any) -> AgentKeyGrant:
    now = int(time.time())
    fields: dict[str, Any] = {
        "payer": SIGNER.address, "key": KEY.public_key, "token": TOKEN, "payee": PAYEE, "cap": 10**6,
        "valid_after": now - 60, "valid_until": now + 30 * 86400, "salt": 1,
    }  # fmt: skip
    return AgentKeyGrant.build(**(fields | changes))


def credential(
    *, key: Any = KEY, key_id: int = KEY_ID, revoke_at: int = 0, **changes: Any
) -> AgentCredential:
    return AgentCredential(key, key_id, DOMAIN, grant(**({"key": key.public_key} | changes)), revoke_at)


def offer(kinds: list[str] | None = BOTH, **overrides: Any) -> dict[str, Any]:
    extra = {"kinds": kinds} if kinds is not None else {}
    extra |= overrides.pop("extra", {})
    return aep2_requirement(extra=extra, **overrides)


def payer_with(
    db: Path, *, signer: Any = SIGNER, agent: AgentCredential | None = None, **policy: Any
) -> Payer:
    return Payer(signer, Policy.model_validate(policy), agent=agent or credential(), db=db)


def test_an_agent_mandate_where_offered_and_covered(payer_db: Path) -> None:
    payer = payer_with(payer_db)
    signed = payer.authorize(offer())
    assert isinstance(signed, SignedAgentMandate)
    signed.verify(KEY.public_key)
    m = signed.mandate
    assert (m.key_id, m.payee, m.token, m.amount, m.nonce) == (KEY_ID, PAYEE, TOKEN, 1000, 1)
    assert signed.domain == DOMAIN and m.ref == bytes.fromhex("ab" * 32)
    header = decode_any(payer.pay(offer()))  # pay() writes the agent kind's header
    assert isinstance(header, SignedAgentMandate) and header.mandate.nonce == 2
    header.verify(KEY.public_key)
    [entry, *_] = payer.audit.entries()
    assert (entry.decision, entry.kind, entry.key_id, entry.payer) == (
        APPROVED,
        "agent",
        KEY_ID,
        SIGNER.address,
    )
    assert entry.digest == "0x" + signed.digest.hex() and entry.nonce == 1


def test_one_message_hash_per_payment(payer_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit entry, the signature and the self-check share one ``M``, and so does the signed
    mandate the payer hands on (its receipt check reads ``digest``)."""
    payer = payer_with(payer_db)
    calls = count_library_calls(monkeypatch)
    signed = payer.authorize(offer())
    assert calls == {"aep2_agent_mandate_hash": 1, "aep2_agent_sign": 1, "aep2_agent_verify": 1}
    [entry] = payer.audit.entries()
    assert entry.digest == "0x" + signed.digest.hex() and calls["aep2_agent_mandate_hash"] == 1
    payer.authorize(offer())  # the in-process key's first signature passed: later ones are not verified
    assert calls == {"aep2_agent_mandate_hash": 2, "aep2_agent_sign": 2, "aep2_agent_verify": 1}


def test_another_agent_signer_signs_the_mandate_itself(payer_db: Path) -> None:
    """An :class:`AgentSigner` that is not an in-process key is handed the mandate, not a digest."""
    payer = payer_with(payer_db, agent=credential(key=_ForwardingKey(KEY)))
    signed = payer.authorize(offer())
    assert isinstance(signed, SignedAgentMandate)
    assert signed.signature == KEY.sign(DOMAIN.separator, signed.mandate)


class _ForwardingKey:
    def __init__(self, key: AgentKey) -> None:
        self.public_key, self._key = key.public_key, key

    def sign(self, domain_separator: bytes, mandate: AgentMandate) -> bytes:
        return self._key.sign(domain_separator, mandate)


@pytest.mark.parametrize(
    ("requirement", "agent"),
    [
        (offer(kinds=None), credential()),  # the payee offers EIP-712 only
        (offer(kinds=["eip712"]), credential()),
        (offer(asset="0x" + "77" * 20), credential()),  # another token
        (offer(payTo=OTHER_PAYEE), credential()),  # a payee outside the key's scope
        (offer(network="eip155:1"), credential()),
        (offer(extra={"escrow": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"}), credential()),
        (offer(), credential(valid_until=int(time.time()) + 600)),  # expires before the deadline
        (offer(), credential(valid_after=int(time.time()) + 7 * 86400)),  # still future when run
        (offer(), credential(revoke_at=int(time.time()) + 86400)),
    ],
    ids=["not-offered", "eip712-only", "token", "scope", "chain", "escrow", "until", "after", "revoked"],
)
def test_eip712_where_the_agent_key_cannot_pay(
    payer_db: Path, requirement: dict[str, Any], agent: AgentCredential
) -> None:
    payer = Payer(SIGNER, Policy(), agent=agent, db=payer_db)
    signed = payer.authorize(requirement)
    assert isinstance(signed, SignedMandate)
    signed.verify()
    [entry] = payer.audit.entries()
    assert (entry.kind, entry.key_id) == ("eip712", None)


def test_an_any_payee_key_pays_every_payee(payer_db: Path) -> None:
    payer = payer_with(payer_db, agent=credential(payee=ANY_PAYEE))
    assert isinstance(payer.authorize(offer(payTo=OTHER_PAYEE)), SignedAgentMandate)


def test_an_agent_only_payer_refuses_what_its_key_cannot_pay(payer_db: Path) -> None:
    payer = Payer(None, Policy(), agent=credential(), db=payer_db)
    assert payer.address == SIGNER.address
    assert isinstance(payer.authorize(offer(kinds=["agent"])), SignedAgentMandate)
    for requirement in (offer(kinds=None), offer(asset="0x" + "77" * 20)):
        with pytest.raises(PaymentRequestError) as caught:
            payer.authorize(requirement)
        assert caught.value.reason == Reason.NO_USABLE_MANDATE_KIND
    assert "no account signer" in caught.value.message and "it pays token" in caught.value.message
    decisions = [(e.decision, e.reason, e.nonce) for e in payer.audit.entries()]
    assert decisions[1:] == [(REJECTED, "no_usable_mandate_kind", None)] * 2


def test_a_signer_only_payer_refuses_an_agent_only_payee(payer_db: Path) -> None:
    payer = Payer(SIGNER, Policy(), db=payer_db)
    with pytest.raises(PaymentRequestError) as caught:
        payer.authorize(offer(kinds=["agent"]))
    assert (
        caught.value.reason == Reason.NO_USABLE_MANDATE_KIND and "holds no agent key" in caught.value.message
    )
    assert isinstance(payer.authorize(offer()), SignedMandate)  # both offered: EIP-712, as ever


def test_the_agent_key_must_be_the_signers(payer_db: Path) -> None:
    other = LocalKeySigner(bytes.fromhex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"))
    with pytest.raises(ConfigurationError, match="pays for"):
        Payer(other, Policy(), agent=credential(), db=payer_db)
    with pytest.raises(ConfigurationError):
        Payer(None, Policy(), db=payer_db)
    with pytest.raises(ConfigurationError, match="not the grant's key"):
        AgentCredential(AgentKey.generate(), KEY_ID, DOMAIN, grant())


def test_nonces_run_per_key_and_payee_apart_from_eip712(payer_db: Path) -> None:
    payer = payer_with(payer_db)
    kinds = [offer(), offer(kinds=None)] * 2 + [offer(payTo=OTHER_PAYEE, kinds=None)]
    got = [(type(s).__name__, s.mandate.nonce) for s in map(payer.authorize, kinds)]
    assert got == [("SignedAgentMandate", 1), ("SignedMandate", 1), ("SignedAgentMandate", 2),
                   ("SignedMandate", 2), ("SignedMandate", 1)]  # fmt: skip
    other_key = AgentKey.generate()
    second = payer_with(payer_db, agent=credential(key=other_key, key_id=8, payee=ANY_PAYEE))
    assert second.authorize(offer()).mandate.nonce == 1  # another key: its own sequence
    assert second.authorize(offer(payTo=OTHER_PAYEE)).mandate.nonce == 1
    with payer.engine.connect() as conn:
        agent_rows = sorted((r.key_id, r.payee, r.last_nonce) for r in conn.execute(agent_nonces.select()))
        eip712_rows = sorted((r.payee, r.last_nonce) for r in conn.execute(nonces.select()))
    assert agent_rows == [(7, PAYEE, 2), (8, PAYEE, 1), (8, OTHER_PAYEE, 1)]
    assert eip712_rows == [(PAYEE, 2), ("0x9999999999999999999999999999999999999999", 1)]


def test_a_nonce_floor_moves_the_chosen_sequence_only(payer_db: Path) -> None:
    payer = payer_with(payer_db)
    assert payer.authorize(offer(extra={"nonceFloor": 41})).mandate.nonce == 42
    assert payer.authorize(offer(kinds=None)).mandate.nonce == 1
    assert payer.authorize(offer()).mandate.nonce == 43


def test_policy_limits_count_both_kinds(payer_db: Path) -> None:
    payer = payer_with(payer_db, hourly_limit=2500, payments_per_hour=3)
    assert isinstance(payer.authorize(offer()), SignedAgentMandate)
    assert isinstance(payer.authorize(offer(kinds=None)), SignedMandate)
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(offer())
    assert caught.value.reason == Reason.POLICY_HOURLY_LIMIT and "2000 already spent" in caught.value.message
    assert payer.authorize(offer(amount="500")).mandate.amount == 500
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(offer(kinds=None, amount="1"))
    assert caught.value.reason == Reason.POLICY_RATE_LIMIT
    rejected = [(e.kind, e.reason) for e in payer.audit.entries() if e.decision == REJECTED]
    assert rejected == [("agent", "policy_hourly_limit"), ("eip712", "policy_rate_limit")]


def test_allow_lists_apply_to_agent_mandates(payer_db: Path) -> None:
    payer = payer_with(payer_db, allowed_payees=[OTHER_PAYEE])
    with pytest.raises(PolicyViolation) as caught:
        payer.authorize(offer())
    assert caught.value.reason == Reason.POLICY_PAYEE_NOT_ALLOWED


class _BrokenKey:
    def __init__(self, signature: bytes | Exception) -> None:
        self.public_key = KEY.public_key
        self._signature = signature

    def sign(self, domain_separator: bytes, mandate: AgentMandate) -> bytes:
        if isinstance(self._signature, Exception):
            raise self._signature
        return self._signature


@pytest.mark.parametrize(
    "bad",
    [AgentKey.generate().sign(DOMAIN.separator, AgentMandate.build(
        key_id=KEY_ID, payee=PAYEE, token=TOKEN, amount=1000, nonce=1, deadline=1, ref=b"\xab" * 32)),
     b"\x00" * 64, TimeoutError("agent signer unreachable")],
    ids=["foreign", "garbage", "unreachable"],
)  # fmt: skip
def test_a_misbehaving_agent_signer_never_yields_a_mandate(payer_db: Path, bad: bytes | Exception) -> None:
    payer = payer_with(payer_db, agent=credential(key=_BrokenKey(bad)))
    with pytest.raises(PayerError) as caught:
        payer.authorize(offer())
    assert caught.value.reason == Reason.SIGNER_FAILED and "signer agent key 7 failed" in caught.value.message
    assert [(e.decision, e.kind, e.key_id) for e in payer.audit.entries()] == [
        (APPROVED, "agent", KEY_ID), (FAILED, "agent", KEY_ID)
    ]  # fmt: skip
    assert payer_with(payer_db).authorize(offer()).mandate.nonce == 2  # the nonce stayed burned


def test_a_refused_agent_mandate_is_audited_under_its_key(payer_db: Path) -> None:
    payer = payer_with(payer_db)
    signed = payer.authorize(offer())
    payer.record_refusal(signed, "nonce_replayed")
    entry = payer.audit.entries()[-1]
    assert (entry.decision, entry.kind, entry.key_id, entry.payer) == (
        REFUSED,
        "agent",
        KEY_ID,
        SIGNER.address,
    )
    assert entry.digest == "0x" + signed.digest.hex() and entry.nonce == 1


# --- the payer database of an older aep2 ------------------------------------------------------------

OLD_SCHEMA = """
CREATE TABLE payer_audit (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, at FLOAT NOT NULL, decision VARCHAR(16) NOT NULL,
    reason VARCHAR(64) NOT NULL, message TEXT NOT NULL, payer VARCHAR(42) NOT NULL, payee VARCHAR(42),
    token VARCHAR(42), amount VARCHAR(40), chain_id BIGINT, escrow VARCHAR(42), nonce BIGINT,
    deadline BIGINT, ref VARCHAR(66), digest VARCHAR(66), resource TEXT);
CREATE INDEX ix_payer_audit_at ON payer_audit (at);
CREATE INDEX ix_payer_audit_payer ON payer_audit (payer);
CREATE TABLE payer_nonces (payer VARCHAR(42) NOT NULL, payee VARCHAR(42) NOT NULL,
    last_nonce BIGINT NOT NULL, PRIMARY KEY (payer, payee));
CREATE TRIGGER payer_audit_no_update BEFORE UPDATE ON payer_audit
    BEGIN SELECT RAISE(ABORT, 'payer_audit is append-only'); END;
CREATE TRIGGER payer_audit_no_delete BEFORE DELETE ON payer_audit
    BEGIN SELECT RAISE(ABORT, 'payer_audit is append-only'); END;
"""


def test_a_payer_database_of_an_older_aep2_opens_and_keeps_its_rows(payer_db: Path) -> None:
    """The schema before agent keys (no kind, no key_id, no agent journal), with a row and a nonce."""
    with sqlite3.connect(payer_db) as old:
        old.executescript(OLD_SCHEMA)
        old.execute(
            "INSERT INTO payer_audit (at, decision, reason, message, payer, payee, token, amount, nonce) "
            "VALUES (?, 'approved', 'approved', 'approved by policy', ?, ?, ?, '1000', 5)",
            (time.time(), SIGNER.address, PAYEE, TOKEN),
        )
        old.execute("INSERT INTO payer_nonces VALUES (?, ?, 5)", (SIGNER.address, PAYEE))
    old.close()
    payer = payer_with(payer_db, hourly_limit=3500)
    assert payer.authorize(offer(kinds=None)).mandate.nonce == 6  # the old journal is still in force
    assert payer.authorize(offer()).mandate.nonce == 1
    with pytest.raises(PolicyViolation):  # the old row still counts
        payer.authorize(offer())
    entries = AuditLog(payer_db).entries()
    assert [(e.nonce, e.kind, e.key_id) for e in entries] == [
        (5, None, None), (6, "eip712", None), (1, "agent", KEY_ID), (None, "agent", KEY_ID)
    ]  # fmt: skip
    payer.close()
    assert payer_with(payer_db).authorize(offer()).mandate.nonce == 2  # opening twice upgrades nothing twice


# --- files: the key and its grant sidecar -----------------------------------------------------------


def test_a_credential_loads_from_its_key_file_and_sidecar(tmp_path: Path) -> None:
    key_file = tmp_path / "agent.key"
    KEY.save(key_file)
    sidecar = sidecar_path(key_file)
    assert sidecar.name == "agent.key.grant.json"
    pending = GrantRecord(DOMAIN, grant(), signature=b"\x01" * 65)
    pending.write(sidecar)
    with pytest.raises(ConfigurationError, match="not registered yet"):
        AgentCredential.load(key_file)
    registered = GrantRecord(DOMAIN, grant(), key_id=KEY_ID, signature=b"\x01" * 65)
    registered.write(sidecar)
    assert GrantRecord.read(sidecar) == registered
    loaded = AgentCredential.load(key_file)
    assert (loaded.key_id, loaded.domain, loaded.grant, loaded.payer) == (
        KEY_ID,
        DOMAIN,
        grant(),
        SIGNER.address,
    )
    assert KEY.unsafe_private_key_bytes().hex() not in repr(loaded)
    other = tmp_path / "other.key"
    AgentKey.generate().save(other)
    with pytest.raises(ConfigurationError, match="not the grant's key"):
        AgentCredential.load(other, sidecar)
    sidecar.write_text(json.dumps({**registered.to_json(), "version": "9"}))
    with pytest.raises(ConfigurationError, match="version 1"):
        AgentCredential.load(key_file)
    with pytest.raises(ConfigurationError, match="authorize"):
        AgentCredential.load(other)  # no sidecar at all


def test_the_grant_digest_is_the_solidity_struct_hash(tmp_path: Path) -> None:
    """An independent encoding of ``AgentKeyHashing.digest``: abi.encode of the typehash and fields."""
    g = grant(payee=ANY_PAYEE, cap=2**128 - 1, salt=2**64 - 1)
    typehash = keccak(GRANT_TYPE_STRING.encode())
    assert GRANT_TYPE_STRING == (
        "AgentKey(address payer,bytes32 key,address token,address payee,uint128 cap,"
        "uint64 validAfter,uint64 validUntil,uint64 salt)"
    )
    types = ["bytes32", "address", "bytes32", "address", "address", "uint128", "uint64", "uint64", "uint64"]
    struct = keccak(abi_encode(types, [typehash, *g.as_abi()]))
    separator = domain_separator(DOMAIN.chain_id, DOMAIN.escrow)
    assert g.digest(DOMAIN) == keccak(b"\x19\x01" + separator + struct)
    assert AgentKeyGrant.from_json(json.loads(json.dumps(g.to_json()))) == g


def test_concurrent_payers_never_share_an_agent_nonce(payer_db: Path) -> None:
    """Threads of two Payer objects on one database: BEGIN IMMEDIATE serialises the agent journal too."""
    from concurrent.futures import ThreadPoolExecutor

    payers = [payer_with(payer_db), payer_with(payer_db)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        signed = list(pool.map(lambda i: payers[i % 2].authorize(offer()), range(40)))
    assert sorted(s.mandate.nonce for s in signed) == list(range(1, 41))
    assert all(isinstance(s, SignedAgentMandate) for s in signed)
