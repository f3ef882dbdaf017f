"""``aep2 payee init``: a commented ``payee.yaml`` and a key file for one chain and escrow.

The YAML explains every :class:`~aep2.payee.config.Settings` field where it is set, so the file is
its own reference (docs/payee.md has the same in a table).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from aep2.errors import ConfigurationError
from aep2.mandate import checksum

CONFIG_NAME = "payee.yaml"
KEY_NAME = "payee.key"

TEMPLATE = """\
# payee.yaml: the configuration of `aep2 payee serve --config payee.yaml`.
# Any field may instead come from the environment as AEP2_<FIELD> (AEP2_RPC_URL, ...); this file wins.
# Amounts and prices are token base units (TestUSDC has 6 decimals: 1000 = 0.001 USDC).

# The EIP-712 domain mandates must be signed for: the chain and the escrow contract.
chain_id: {chain_id}
escrow: "{escrow}"
# The JSON-RPC endpoint the check reads balances, reservations and nonces from.
rpc_url: "{rpc_url}"
# Tokens accepted; challenges quote the first.
tokens: ["{token}"]

# The payee's key signs receipts; its address is the payee every mandate must name. Kept in its own
# file (mode 0600), relative to this one, holding 0x-hex. Never commit it.
payee_key_file: {key_file}

# How long after accepting a mandate the pipeline may take to settle it, in seconds. `serve` refuses
# to start unless it covers the pipeline's worst case (window age, proving, retries) and stays,
# with that latency, below the escrow's withdrawDelay (24 h on the devnet).
settlement_horizon_seconds: 3600

# Credit risk: one deposit backs every payee, so accepting against a payer's free balance lends
# against money another payee may settle first.
#   require_reservations: true accepts only against the payer's reservation for this payee
#     (escrow.reserve: debitable by this payee alone), which removes the risk;
#   max_exposure_per_payer caps how much of a payer's free balance is accepted against while
#     unsettled (null: all of it).
require_reservations: false
max_exposure_per_payer: null

# Mandate kinds accepted: eip712 (signed by the payer's account key) and agent (signed by an agent
# key the payer authorized in the escrow, capped there: docs/agent-keys.md). Challenges list them.
mandate_kinds: [{mandate_kinds}]

# The store of accepted mandates and receipts: SQLite (WAL, synchronous=FULL) or postgresql://...
# null: AEP2_DATABASE_URL, else ~/.aep2/payee.db.
database_url: "{database_url}"
# The base URL payers see, when behind a proxy (HTTP refs are built from it; the A2A card names it).
# null: the address `serve` binds.
public_url: null

# Paid HTTP routes: each call charges `price`. `idempotent` (default: GET, HEAD, PUT, DELETE...)
# says whether a re-presented, already accepted mandate may run the call again.
routes:
  - {{path: /weather, method: GET, price: 1000, description: "today's weather"}}

# Paid MCP tools at /mcp (streamable HTTP). `handler` picks a built-in: weather(city), echo(text).
tools:
  - {{name: get_weather, handler: weather, price: 1000, description: "today's weather for a city"}}

# The paid A2A skill at /a2a/ (card at /a2a/.well-known/agent-card.json); at most one, as the skill
# id is part of every call's ref. `handler` picks a built-in: oracle, echo.
skills:
  - {{id: oracle, handler: oracle, price: 1000, description: "answers any question"}}

# Alerts (docs/alerts.md): settlement failures, skipped pairs, failed proofs, stuck chunks, agent
# key revocations, low payer headroom. They collect in the store's outbox; `aep2 alerts send
# --config payee.yaml` (or the workers' aep2.send_alerts task) POSTs each to this URL, signed per
# Standard Webhooks with the whsec_ secret (`aep2 alerts new-secret` makes one; the receiver holds
# the same string). null: AEP2_ALERT_WEBHOOK_URL and AEP2_ALERT_WEBHOOK_SECRET; better keep the
# secret in the environment than in this file.
alert_webhook_url: null
alert_webhook_secret: null

# The console at /console (docs/console.md): the merchant's pages over this store. It opens only
# with a token (at least 16 characters), sent as `Authorization: Bearer ...` or typed into its login
# form; null: AEP2_CONSOLE_TOKEN, and with neither the console is disabled. Keep the token in the
# environment rather than here. It answers only clients on this machine unless allow_remote is true.
console_token: null
console_allow_remote: false
"""


@dataclass(frozen=True)
class PayeeInit:
    """What ``aep2 payee init`` needs: the chain, and the key (None: generate one)."""

    chain_id: int
    rpc_url: str
    escrow: str
    token: str
    key: bytes | None = None
    mandate_kinds: tuple[str, ...] = ("eip712",)  # a devnet with an agent verifier: both


def write_payee_config(folder: Path, init: PayeeInit, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``payee.yaml`` and ``payee.key`` (0600) into ``folder``; (config, key file)."""
    config, key_file = folder / CONFIG_NAME, folder / KEY_NAME
    existing = [str(p) for p in (config, key_file) if p.exists()]
    if existing and not force:
        raise ConfigurationError(f"refusing to overwrite {', '.join(existing)} (pass --force)")
    folder.mkdir(parents=True, exist_ok=True)
    key = init.key if init.key is not None else bytes(Account.create().key)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("0x" + key.hex() + "\n")
    key_file.chmod(0o600)
    config.write_text(
        TEMPLATE.format(
            chain_id=init.chain_id,
            escrow=checksum(init.escrow),
            rpc_url=init.rpc_url,
            token=checksum(init.token),
            key_file=KEY_NAME,
            mandate_kinds=", ".join(init.mandate_kinds),
            database_url=f"sqlite:///{(folder / 'payee.db').resolve()}",
        )
    )
    return config, key_file
