"""One line on stderr for a user's mistake, never a traceback: the ``aep2`` command's outer shell."""

from __future__ import annotations

import sys
from collections.abc import Callable

import yaml
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from aep2.errors import Aep2Error

USER_ERROR_EXIT = 2


def one_line(exc: BaseException) -> str:
    """The error as one line: its reason code first when it has one."""
    if isinstance(exc, Aep2Error):
        return f"{exc.reason}: {exc.message}".replace("\n", " ")
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        return f"invalid configuration: {where}: {first['msg']}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def run_reporting_errors(command: Callable[[], object]) -> None:
    """Run ``command``; configuration, file, YAML, database and aep2 errors end it with one line."""
    try:
        command()
    except (Aep2Error, ValidationError, OSError, yaml.YAMLError, SQLAlchemyError, ValueError) as exc:
        print(f"aep2: {one_line(exc)}", file=sys.stderr)
        raise SystemExit(USER_ERROR_EXIT) from None
