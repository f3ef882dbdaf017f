"""Spending policies as YAML files, kept under version control next to the agent's code.

Every rule is optional; a rule that is absent does not restrict. Amounts are
token base units (integers, or decimal strings for values past 2^53), and the
spending windows are summed per token, because adding base units of two tokens
with different decimals means nothing. Unknown keys are errors, so a typo
(``max_per_paymnet``) cannot silently disable a limit. See ``docs/payer.md``.

.. code-block:: yaml

    version: 1
    max_per_payment: 1000000          # one call may cost at most this
    hourly_limit: 5000000             # rolling 60 minutes, per token
    daily_limit: 20000000             # rolling 24 hours, per token
    payments_per_hour: 120            # rate limit, all payees together
    approval_above: 500000            # larger payments raise ApprovalRequired
    allowed_payees: ["0x..."]
    allowed_tokens: ["0x..."]
    allowed_chains: [31337]
    allowed_escrows: ["0x..."]
    active_hours: {timezone: Europe/Berlin, start: "08:00", end: "20:00", days: [mon, tue, wed, thu, fri]}
"""

from __future__ import annotations

from datetime import time as clock_time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
)

from aep2.errors import PolicyViolation, Reason
from aep2.mandate import AMOUNT_LIMIT, checksum

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _amount(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not an integer amount in base units")
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise ValueError(f"{value!r} is not a decimal amount in base units")
        value = int(value)
    if not 0 <= value < AMOUNT_LIMIT:
        raise ValueError(f"amount {value} is outside [0, 2^96)")
    return value


def _address(value: object) -> str:
    if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte address")
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise ValueError(f"{value!r} is not hex") from None
    return checksum(value)


Amount = Annotated[int, BeforeValidator(_amount)]
AddressText = Annotated[str, BeforeValidator(_address)]


def _clock(value: object) -> clock_time:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a quoted HH:MM time")
    try:
        return clock_time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a HH:MM time") from None


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActiveHours(_Strict):
    """When the agent may pay: ``start`` ≤ local time < ``end`` (wrapping past midnight if end < start)."""

    timezone: str = "UTC"
    start: Annotated[clock_time, BeforeValidator(_clock)]
    end: Annotated[clock_time, BeforeValidator(_clock)]
    days: tuple[Weekday, ...] = WEEKDAYS

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Policy(_Strict):
    """One payer's spending policy; every rule optional. Load with :func:`load_policy`."""

    version: Literal[1] = 1
    max_per_payment: Amount | None = None
    hourly_limit: Amount | None = None
    daily_limit: Amount | None = None
    payments_per_hour: StrictInt | None = Field(default=None, ge=0)
    approval_above: Amount | None = None
    allowed_payees: tuple[AddressText, ...] | None = None
    allowed_tokens: tuple[AddressText, ...] | None = None
    allowed_chains: tuple[StrictInt, ...] | None = None
    allowed_escrows: tuple[AddressText, ...] | None = None
    active_hours: ActiveHours | None = None


def parse_policy(document: Any, *, source: str = "policy") -> Policy:
    """Validate a parsed YAML document; any defect is a :class:`PolicyViolation` (fail closed)."""
    if document is None:
        raise PolicyViolation(f"{source} is empty", reason=Reason.POLICY_INVALID, source=source)
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise PolicyViolation(
            f"{source}: {where}: {first['msg'].removeprefix('Value error, ')}",
            reason=Reason.POLICY_INVALID,
            source=source,
        ) from None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; unreadable, unparsable or invalid files raise ``PolicyViolation``."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyViolation(
            f"cannot read policy {path}: {exc}", reason=Reason.POLICY_INVALID, source=str(path)
        ) from None
    return parse_policy(document, source=str(path))
