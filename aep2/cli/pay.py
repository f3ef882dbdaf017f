"""``aep2 pay URL``: call a URL, paying its payment request with an aep2 mandate, and print the receipt.

Over HTTP (the 402 handshake), MCP (``--mcp-tool NAME --arg city=Paris`` at the ``/mcp``
endpoint) or A2A (``--a2a-skill ID --message TEXT`` at the agent's URL). The key comes from
``--key-file``, or ``--devnet FILE --payer I`` picks a funded payer of ``aep2 devnet up``;
``--agent-key FILE`` adds an agent key (``aep2 agent-key authorize`` registered it), which pays
payees that offer agent mandates, alone or beside the account key.

A thin shell over :class:`~aep2.payer.Payer` and :class:`~aep2.transports.httpx_auth.Aep2Auth`.
The body goes to stdout and the receipt to stderr (``--json`` prints one
object with both), so ``aep2 pay URL > out`` keeps the body clean.

Exit codes: 0 served (paid with a valid receipt, or free), 1 served or
answered without a valid receipt, 2 refused by the payer (policy, approval,
ref), 3 bad usage or setup.

Wire it into the main CLI with ``app.command("pay")(pay)``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from aep2.agentkey import SignedAgentMandate
from aep2.devnet.state import read_state
from aep2.errors import Aep2Error, PayerError
from aep2.payer import AgentCredential, LocalKeySigner, Payer
from aep2.payer._wire import Payment
from aep2.transports.httpx_auth import PAYMENT_EXTENSION, Aep2Auth

app = typer.Typer(help="Pay for HTTP calls with aep2 mandates.")


def _summary(status: int | str, payment: Payment | None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "paid": payment is not None}
    if payment is not None:
        m = payment.mandate.mandate
        out["mandate"] = {
            "digest": "0x" + payment.mandate.digest.hex(), "payee": m.payee, "token": m.token,
            "amount": str(m.amount), "nonce": str(m.nonce), "deadline": str(m.deadline),
        }  # fmt: skip
        if isinstance(payment.mandate, SignedAgentMandate):
            out["mandate"] |= {"kind": "agent", "keyId": str(payment.mandate.mandate.key_id)}
        out["receipt"] = None if payment.receipt is None else payment.receipt.model_dump()
        out["error"] = payment.error
    return out


def _signer(key_file: Path | None, devnet: Path | None, payer_index: int) -> LocalKeySigner:
    """The payer's key: ``--key-file``, or payer number ``--payer`` of a devnet file."""
    if key_file is not None:
        return LocalKeySigner.from_file(key_file)
    if devnet is None:
        raise ValueError("pass --key-file FILE or --devnet FILE (or --agent-key FILE)")
    payers = read_state(devnet).payers
    if not 0 <= payer_index < len(payers):
        raise ValueError(f"--payer {payer_index}: the devnet has payers 0..{len(payers) - 1}")
    return LocalKeySigner(payers[payer_index].key_bytes)


def _arguments(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--arg {pair!r}: expected NAME=VALUE")
        out[name] = value
    return out


@dataclass(frozen=True)
class _Call:
    """The transport-independent result of one call: the body, whether it was served, the payment."""

    status: int | str
    body: str
    ok: bool
    payment: Payment | None


@dataclass(frozen=True)
class _Request:
    """What to call: HTTP by default, an MCP tool or an A2A skill when named."""

    url: str
    method: str = "GET"
    data: str | None = None
    mcp_tool: str | None = None
    arguments: dict[str, Any] | None = None
    a2a_skill: str | None = None
    message: str = ""
    chain: int | None = None
    verify_ref: bool = True
    timeout: float = 30.0


def _call(payer: Payer, r: _Request) -> _Call:
    from aep2.transports.paid_call import ask_a2a_agent, call_mcp_tool  # MCP and A2A clients: only when used

    if r.mcp_tool is not None:
        got = call_mcp_tool(
            payer, r.url, r.mcp_tool, r.arguments or {}, chain_id=r.chain, verify_ref=r.verify_ref
        )
        return _Call("ok" if got.ok else "error", got.text, got.ok, got.payment)
    if r.a2a_skill is not None:
        got = ask_a2a_agent(
            payer, r.url, r.a2a_skill, r.message, chain_id=r.chain, verify_ref=r.verify_ref, timeout=r.timeout
        )
        return _Call("completed" if got.ok else "failed", got.text, got.ok, got.payment)
    auth = Aep2Auth(payer, chain_id=r.chain, verify_ref=r.verify_ref)
    with httpx.Client(auth=auth, timeout=r.timeout) as client:
        response = client.request(r.method, r.url, content=None if r.data is None else r.data.encode())
    payment = response.extensions.get(PAYMENT_EXTENSION)
    return _Call(response.status_code, response.text, response.is_success,
                 payment if isinstance(payment, Payment) else None)  # fmt: skip


@app.command("pay")
def pay(
    url: Annotated[
        str, typer.Argument(help="the URL to fetch (MCP: the /mcp endpoint; A2A: the agent's URL)")
    ],
    policy: Annotated[
        Path, typer.Option("--policy", envvar="AEP2_PAYER_POLICY", help="spending policy YAML (required)")
    ],
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", envvar="AEP2_PAYER_KEY_FILE", help="file holding the payer's hex key"),
    ] = None,
    devnet: Annotated[
        Path | None, typer.Option("--devnet", help="pay with a funded payer of this devnet file instead")
    ] = None,
    payer_index: Annotated[int, typer.Option("--payer", help="which payer of --devnet (0-based)")] = 0,
    agent_key: Annotated[
        Path | None,
        typer.Option(
            "--agent-key", envvar="AEP2_AGENT_KEY_FILE", help="an agent key file (its grant beside it)"
        ),
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", envvar="AEP2_PAYER_DB", help="payer database [~/.aep2/payer.db]")
    ] = None,
    chain: Annotated[int | None, typer.Option("--chain", help="pay only on this chain id")] = None,
    method: Annotated[str, typer.Option("--method", "-X", help="HTTP method")] = "GET",
    data: Annotated[str | None, typer.Option("--data", "-d", help="request body")] = None,
    mcp_tool: Annotated[str | None, typer.Option("--mcp-tool", help="call this MCP tool at URL")] = None,
    arg: Annotated[list[str] | None, typer.Option("--arg", help="an MCP tool argument NAME=VALUE")] = None,
    a2a_skill: Annotated[str | None, typer.Option("--a2a-skill", help="ask the A2A agent at URL")] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="the A2A message text")] = "hello",
    verify_ref: Annotated[bool, typer.Option(help="refuse a payee that bills another call")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 30.0,
) -> None:
    """Call URL over HTTP, MCP (--mcp-tool) or A2A (--a2a-skill); pay a payment request with an aep2
    mandate under the policy, then print the answer and the receipt."""
    try:
        if mcp_tool is not None and a2a_skill is not None:
            raise ValueError("--mcp-tool and --a2a-skill exclude each other")
        request = _Request(url, method, data, mcp_tool, _arguments(arg or []), a2a_skill, message, chain,
                           verify_ref, timeout)  # fmt: skip
        agent = AgentCredential.load(agent_key) if agent_key is not None else None
        account = key_file is not None or devnet is not None or agent is None
        payer = Payer(_signer(key_file, devnet, payer_index) if account else None, policy, agent=agent, db=db)
    except (OSError, ValueError, Aep2Error) as exc:
        typer.echo(f"aep2 pay: cannot set up the payer: {exc}", err=True)
        raise typer.Exit(3) from None
    try:
        call = _call(payer, request)
    except PayerError as exc:
        typer.echo(
            json.dumps({"refused": exc.to_dict()}) if as_json else f"aep2 pay: refused: {exc}",
            err=not as_json,
        )
        raise typer.Exit(2) from None
    except (Aep2Error, httpx.HTTPError, OSError) as exc:
        typer.echo(f"aep2 pay: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        payer.close()
    summary = _summary(call.status, call.payment)
    if as_json:
        typer.echo(json.dumps({**summary, "body": call.body}, indent=2))
    else:
        sys.stdout.write(call.body + ("" if call.body.endswith("\n") else "\n"))
        typer.echo(json.dumps(summary, indent=2), err=True)
    served = call.ok and (call.payment is None or summary.get("receipt") is not None)
    raise typer.Exit(0 if served else 1)
