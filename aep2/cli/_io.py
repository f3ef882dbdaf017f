"""Reading mandates and keys from files for the CLI; failures become clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aep2.errors import MandateDecodeError, MandateFieldError
from aep2.mandate import Domain, Mandate, SignedMandate, decode, from_wire, unsigned_from_wire


def read_json_object(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MandateDecodeError(f"{path} is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MandateFieldError(f"{path} holds a JSON {type(obj).__name__}, not an object")
    return obj


def read_unsigned(path: Path) -> tuple[Domain, Mandate]:
    """A mandate file: the wire JSON object (numbers as decimal strings), signature optional."""
    return unsigned_from_wire(read_json_object(path))


def read_signed(path: Path) -> SignedMandate:
    """A signed mandate file: either the wire JSON object or the base64 header itself."""
    text = path.read_text().strip()
    if text.startswith("{"):
        return from_wire(read_json_object(path))
    return decode(text)


def read_private_key(path: Path) -> bytes:
    """A key file holds one 32-byte hex key, with or without ``0x``."""
    text = path.read_text().strip().removeprefix("0x")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise MandateFieldError(f"{path} does not hold a hex private key") from None
    if len(key) != 32:
        raise MandateFieldError(f"{path} holds {len(key)} bytes, a private key is 32")
    return key
