"""The payee's configuration: which domain it accepts, its key, its horizon, and where it stores.

One pydantic-settings ``Settings`` (environment prefix ``AEP2_``) as the FastAPI
template does; a YAML file (``aep2 payee serve --config``) fills the same model.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import yaml
from eth_account import Account
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aep2.mandate import checksum


class Route(BaseModel):
    """A paid route of the example API: price in token base units."""

    model_config = ConfigDict(extra="forbid")

    path: str
    method: str = "GET"
    price: int = Field(gt=0)
    description: str = ""
    idempotent: bool | None = Field(
        default=None,
        description="may a re-presented mandate run the call again? unset: RFC 9110's idempotent methods",
    )


class McpTool(BaseModel):
    """A paid MCP tool served at ``/mcp``: ``handler`` names a built-in handler (``weather``, ``echo``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    price: int = Field(gt=0)
    handler: str = "echo"
    description: str = ""
    idempotent: bool = Field(default=False, description="may a re-presented mandate run the tool again?")


class A2aSkill(BaseModel):
    """A paid A2A skill served at ``/a2a/``: ``handler`` names a built-in (``echo``, ``oracle``)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    price: int = Field(gt=0)
    handler: str = "echo"
    description: str = ""


class Settings(BaseSettings):
    """Everything the payee's check and its integrations read."""

    model_config = SettingsConfigDict(env_prefix="AEP2_", extra="forbid")

    chain_id: int = Field(gt=0)
    escrow: str
    tokens: list[str] = Field(min_length=1, description="accepted token addresses")
    payee_key: SecretStr = Field(description="0x-hex private key signing receipts; its address is the payee")
    settlement_horizon_seconds: int = Field(default=3600, ge=0)
    require_reservations: bool = Field(
        default=False,
        description="accept only against the payer's reservation for this payee (no credit risk)",
    )
    max_exposure_per_payer: int | None = Field(
        default=None,
        ge=0,
        description="most of a payer's free balance (shared with every payee) to accept against, "
        "in token base units; unset: all of it",
    )
    mandate_kinds: list[Literal["eip712", "agent"]] = Field(
        default=["eip712"],
        min_length=1,
        description="mandate kinds accepted: eip712 (payer-signed) and agent (agent-key, docs/agent-keys.md)",
    )
    rpc_url: str | None = None
    database_url: str | None = None
    public_url: str | None = Field(default=None, description="base URL the payer sees, for call refs")
    routes: list[Route] = Field(default_factory=list)
    tools: list[McpTool] = Field(default_factory=list, description="paid MCP tools at /mcp")
    skills: list[A2aSkill] = Field(
        default_factory=list,
        max_length=1,
        description="the paid A2A skill at /a2a/ (one per agent: the skill id is part of the call's ref)",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description="where `aep2 alerts send` POSTs the store's alerts (docs/alerts.md); "
        "null: AEP2_ALERT_WEBHOOK_URL",
    )
    alert_webhook_secret: SecretStr | None = Field(
        default=None,
        description="the whsec_ secret signing them (Standard Webhooks); null: AEP2_ALERT_WEBHOOK_SECRET",
    )

    console_token: SecretStr | None = Field(
        default=None,
        description="the token opening /console (docs/console.md); null: AEP2_CONSOLE_TOKEN, and with "
        "neither the console is disabled",
    )
    console_allow_remote: bool = Field(
        default=False, description="serve /console to clients off this machine (default: loopback only)"
    )

    @field_validator("escrow")
    @classmethod
    def _checksum_escrow(cls, value: str) -> str:
        return checksum(value)

    @field_validator("tokens")
    @classmethod
    def _checksum_tokens(cls, value: list[str]) -> list[str]:
        return [checksum(token) for token in value]

    @property
    def key_bytes(self) -> bytes:
        return bytes.fromhex(self.payee_key.get_secret_value().removeprefix("0x"))

    @property
    def payee(self) -> str:
        return _address_of(self.key_bytes)

    @property
    def token(self) -> str:
        """The token challenges quote (the first accepted one)."""
        return self.tokens[0]


@functools.lru_cache(maxsize=64)
def _address_of(key: bytes) -> str:
    """The key's checksummed address, derived once: every paid call reads it (~0.25 ms to derive)."""
    return str(Account.from_key(key).address)


def load_settings(path: Path) -> Settings:
    """Read a YAML config; ``payee_key_file`` names a file holding the key (kept out of the YAML)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    key_file = data.pop("payee_key_file", None)
    if key_file is not None:
        data["payee_key"] = (path.parent / key_file).read_text().strip()
    return Settings(**data)
