"""``aep2 agent-key new | authorize | revoke | status``: an agent key, its grant and its on-chain record.

``new`` writes a key file (mode 0600; the secret is never printed) and prints the public key.
``authorize`` builds the payer's EIP-712 grant of the key and registers it with the escrow, signed
by the payer's key (``--key-file``), or prints the typed data for a wallet or MPC signer
(``--print``) and later submits the signature made there (``--signature``). Either way the grant
and the key id the escrow assigned go to the key's sidecar (``<key file>.grant.json``), which
``aep2 pay --agent-key`` and :meth:`aep2.payer.AgentCredential.load` read. ``status`` prints the
escrow's record of the key; ``revoke`` starts its revocation (effective after ``revokeDelay``).

Where the chain is: ``--devnet FILE`` (its RPC, escrow, token and funded payers), or
``--rpc-url`` / ``--escrow`` (``AEP2_RPC_URL``, ``AEP2_ESCROW``); ``--print`` needs no RPC with
``--chain-id``. ``status`` and ``revoke`` take chain and escrow from the sidecar.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from web3 import Web3

from aep2.agentkey import ANY_PAYEE, AgentKey, AgentKeyGrant
from aep2.chain import EscrowClient, sign_grant
from aep2.cli import _agent_chain
from aep2.cli._io import read_private_key
from aep2.devnet.state import read_state
from aep2.errors import ConfigurationError
from aep2.mandate import Domain, checksum
from aep2.mandate._signature import address_of, recover_public_key
from aep2.payer import GrantRecord, LocalKeySigner, sidecar_path

agent_key_app = typer.Typer(
    help="Agent keys: a key the payer authorizes once, capped by the escrow, that signs per-call mandates.",
    no_args_is_help=True,
)

DEFAULT_VALIDITY = 30 * 86400

AgentKeyOption = Annotated[
    Path,
    typer.Option("--agent-key", dir_okay=False, help="the agent key file (its grant: <file>.grant.json)"),
]
DevnetOption = Annotated[
    Path | None, typer.Option("--devnet", dir_okay=False, help="a devnet file: RPC, escrow, token, payers")
]
PayerIndexOption = Annotated[int, typer.Option("--payer", help="which payer of --devnet (0-based)")]
RpcOption = Annotated[str | None, typer.Option("--rpc-url", envvar="AEP2_RPC_URL", help="JSON-RPC endpoint")]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file", envvar="AEP2_PAYER_KEY_FILE", dir_okay=False, help="the payer's account key (hex)"
    ),
]


@dataclass(frozen=True)
class _Place:
    """Where the escrow is, and the devnet's defaults when there is one."""

    rpc_url: str | None
    domain: Domain | None
    token: str | None = None
    payer_key: bytes | None = None


def _place(
    devnet: Path | None, payer_index: int, rpc_url: str | None, escrow: str | None, chain_id: int | None
) -> _Place:
    if devnet is not None:
        state = read_state(devnet)
        if not 0 <= payer_index < len(state.payers):
            raise ValueError(f"--payer {payer_index}: the devnet has payers 0..{len(state.payers) - 1}")
        domain = Domain(chain_id=state.chain_id, escrow=checksum(state.escrow))
        return _Place(state.rpc_url, domain, checksum(state.token), state.payers[payer_index].key_bytes)
    if escrow is None:
        return _Place(rpc_url, None)
    if chain_id is None:
        if rpc_url is None:
            raise ValueError("pass --rpc-url (or --chain-id, for --print alone) with --escrow")
        chain_id = _web3(rpc_url).eth.chain_id
    return _Place(rpc_url, Domain(chain_id=chain_id, escrow=checksum(escrow)))


def _web3(rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))


def _on_chain(rpc_url: str | None, domain: Domain) -> EscrowClient:
    if rpc_url is None:
        raise ValueError("pass --rpc-url (or set AEP2_RPC_URL, or --devnet FILE)")
    return _agent_chain.connect(_web3(rpc_url), domain)


def _payer_key(key_file: Path | None, place: _Place) -> bytes | None:
    if key_file is not None:
        return read_private_key(key_file)
    return place.payer_key


def _echo_json(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, indent=2))


@agent_key_app.command()
def new(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="where to write the key (mode 0600)")],
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing key file")] = False,
) -> None:
    """Generate an agent key into FILE and print its public key (the grant's `key`)."""
    key = AgentKey.generate()
    key.save(file, overwrite=force)
    typer.echo("0x" + key.public_key.hex())


def _grant(
    key: AgentKey, payer: str, token: str, payee: str | None, cap: int,
    valid_after: int | None, valid_for: int, salt: int | None,
) -> AgentKeyGrant:  # fmt: skip
    after = valid_after if valid_after is not None else int(time.time())
    return AgentKeyGrant.build(
        payer=payer, key=key.public_key, token=token, payee=payee or ANY_PAYEE, cap=cap,
        valid_after=after, valid_until=after + valid_for,
        salt=salt if salt is not None else secrets.randbelow(1 << 64),
    )  # fmt: skip


@agent_key_app.command()
def authorize(
    agent_key: AgentKeyOption,
    cap: Annotated[
        int | None, typer.Option(min=1, help="most the escrow may ever debit through the key")
    ] = None,
    token: Annotated[str | None, typer.Option(help="the token the key pays in [the devnet's]")] = None,
    payee: Annotated[str | None, typer.Option(help="the one payee the key may pay [any payee]")] = None,
    valid_for: Annotated[int, typer.Option(min=1, help="seconds the key settles for")] = DEFAULT_VALIDITY,
    valid_after: Annotated[int | None, typer.Option(help="unix seconds it settles from [now]")] = None,
    salt: Annotated[int | None, typer.Option(min=0, help="tells equal grants apart [random]")] = None,
    key_file: KeyFileOption = None,
    payer_address: Annotated[
        str | None, typer.Option("--payer-address", help="with --print: the account a wallet signs as")
    ] = None,
    print_: Annotated[
        bool, typer.Option("--print", help="print the typed data for a wallet to sign; send nothing")
    ] = False,
    signature: Annotated[
        str | None, typer.Option(help="submit the printed grant with this signature (0x-hex)")
    ] = None,
    replace_grant: Annotated[
        bool, typer.Option("--replace", help="authorize again although the key has a registered grant")
    ] = False,
    devnet: DevnetOption = None,
    payer_index: PayerIndexOption = 0,
    rpc_url: RpcOption = None,
    escrow: Annotated[str | None, typer.Option(envvar="AEP2_ESCROW", help="the escrow's address")] = None,
    chain_id: Annotated[int | None, typer.Option("--chain-id", help="with --print and no RPC")] = None,
) -> None:
    """Grant the agent key to the payer and register the grant with the escrow (or --print it)."""
    sidecar = sidecar_path(agent_key)
    place = _place(devnet, payer_index, rpc_url, escrow, chain_id)
    if signature is not None:
        record = GrantRecord.read(sidecar)
        _refuse_registered(record, sidecar, replace_grant)
        _submit(replace(record, signature=_hex(signature, "--signature")), sidecar, place, key_file)
        return
    key = AgentKey.load(agent_key)
    if sidecar.exists():
        _refuse_registered(GrantRecord.read(sidecar), sidecar, replace_grant)
    if place.domain is None:
        raise ValueError("pass --devnet FILE, or --escrow with --rpc-url (or --chain-id)")
    if cap is None:
        raise ValueError("--cap is required: the most the escrow may ever debit through this key")
    token = token or place.token
    if token is None:
        raise ValueError("pass --token")
    payer_key = _payer_key(key_file, place)
    payer = payer_address or (LocalKeySigner(payer_key).address if payer_key is not None else None)
    if payer is None:
        raise ValueError("pass --key-file (the payer's key), or --payer-address with --print")
    grant = _grant(key, payer, token, payee, cap, valid_after, valid_for, salt)
    record = GrantRecord(place.domain, grant)
    if print_:
        record.write(sidecar)
        _echo_json(grant.typed_data(place.domain))
        return
    if payer_key is None:
        raise ValueError("pass --key-file to sign the grant, or --print it for another signer")
    signer = LocalKeySigner(payer_key).address
    if signer != grant.payer:
        raise ValueError(f"--key-file signs as {signer}, not as --payer-address {grant.payer}")
    signed = replace(record, signature=sign_grant(grant, place.domain, payer_key))
    _submit(signed, sidecar, place, key_file)


def _refuse_registered(record: GrantRecord, sidecar: Path, replace_grant: bool) -> None:
    if record.key_id is not None and not replace_grant:
        raise ConfigurationError(
            f"{sidecar} holds key id {record.key_id}, already registered; "
            "pass --replace to grant the key again"
        )


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError:
        raise ValueError(f"{what} is not hex") from None


def _submit(record: GrantRecord, sidecar: Path, place: _Place, key_file: Path | None) -> None:
    """Register the signed grant in ``record``; the transaction is sent from ``--key-file``'s account."""
    assert record.signature is not None
    sender = _payer_key(key_file, place)
    if sender is None:
        raise ValueError("pass --key-file: the account that sends the transaction (and pays its gas)")
    chain = _on_chain(place.rpc_url, record.domain)
    _check_signature(chain, record)
    key_id = chain.authorize_agent_key(record.grant, record.signature, sender)
    registered = replace(record, key_id=key_id)
    registered.write(sidecar)
    _echo_json({
        "keyId": str(key_id), "payer": record.grant.payer, "key": "0x" + record.grant.key.hex(),
        "grantDigest": "0x" + record.grant.digest(record.domain).hex(), "grantFile": str(sidecar),
    })  # fmt: skip


def _check_signature(chain: EscrowClient, record: GrantRecord) -> None:
    """An EOA payer's signature must recover to it here, before any gas is spent; a contract
    wallet's (EIP-1271) is the escrow's to judge."""
    assert record.signature is not None
    if _agent_chain.has_code(chain, record.grant.payer):
        return
    digest = record.grant.digest(record.domain)
    try:
        signer = checksum("0x" + address_of(recover_public_key(digest, record.signature)).hex())
    except Exception as exc:
        raise ValueError(f"the grant's signature is unusable: {exc}") from None
    if signer != record.grant.payer:
        raise ValueError(f"the grant is signed by {signer}, not by its payer {record.grant.payer}")


def _registered(agent_key: Path) -> tuple[GrantRecord, int]:
    sidecar = sidecar_path(agent_key)
    record = GrantRecord.read(sidecar)
    if record.key_id is None:
        raise ConfigurationError(
            f"the grant in {sidecar} is not registered yet: finish `aep2 agent-key authorize`"
        )
    return record, record.key_id


@agent_key_app.command()
def status(
    agent_key: AgentKeyOption,
    devnet: DevnetOption = None,
    rpc_url: RpcOption = None,
) -> None:
    """Print the escrow's record of the key: cap, spent, validity, revocation."""
    record, key_id = _registered(agent_key)
    rpc = rpc_url or (read_state(devnet).rpc_url if devnet is not None else None)
    info = _on_chain(rpc, record.domain).agent_key(key_id)
    if info is None:
        raise ConfigurationError(f"escrow {record.domain.escrow} has no agent key {key_id}")
    if info.key != record.grant.key:
        raise ConfigurationError(f"the escrow's key {key_id} is 0x{info.key.hex()}, not this key file's")
    _echo_json(_agent_chain.summary(info, now=_chain_time(rpc)))


def _chain_time(rpc_url: str | None) -> int:
    assert rpc_url is not None
    return int(_web3(rpc_url).eth.get_block("latest")["timestamp"])


@agent_key_app.command()
def revoke(
    agent_key: AgentKeyOption,
    key_file: KeyFileOption = None,
    devnet: DevnetOption = None,
    payer_index: PayerIndexOption = 0,
    rpc_url: RpcOption = None,
    print_tx: Annotated[
        bool, typer.Option("--print-tx", help="print the transaction for the payer's wallet to send")
    ] = False,
) -> None:
    """Revoke the key: it stops settling `revokeDelay` from now. Sent by the payer's account."""
    record, key_id = _registered(agent_key)
    place = _place(devnet, payer_index, rpc_url, None, None)
    chain = _on_chain(place.rpc_url, record.domain)
    if print_tx:
        _echo_json(_agent_chain.revoke_transaction(chain, key_id, record.grant.payer))
        return
    payer_key = _payer_key(key_file, place)
    if payer_key is None:
        raise ValueError("pass --key-file (the payer's key), or --print-tx for its wallet")
    revoke_at = chain.revoke_agent_key(key_id, payer_key)
    replace(record, revoke_at=revoke_at).write(sidecar_path(agent_key))
    _echo_json({"keyId": str(key_id), "revokeAt": str(revoke_at)})


__all__ = ["agent_key_app", "authorize", "new", "revoke", "status"]
