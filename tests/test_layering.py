"""Imports run one way: protocol below payer and payee, transports above both (issue #15, item 7).

Each module's imports are read with ``ast`` (function-level imports too, since
a lazy import is still a dependency), so a package that reaches upward fails
here before it can tangle the floors again.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "aep2"

# What each floor may not import. The protocol gets an allow-list instead: it
# is the shared ground floor, so anything beyond errors and the mandate model
# would pull a layer under both ends.
PROTOCOL_ALLOWED = ("aep2.errors", "aep2.mandate", "aep2.protocol")
ABOVE_PAYER_AND_PAYEE = (
    "aep2.transports",
    "aep2.settlement",
    "aep2.cli",
    "aep2.console",
    "aep2.demo",
    "aep2.devnet",
    "workers",
)
FORBIDDEN = {
    "aep2.payer": (*ABOVE_PAYER_AND_PAYEE, "aep2.payee"),
    "aep2.payee": (*ABOVE_PAYER_AND_PAYEE, "aep2.payer"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[str]:
    """Yield every module ``source`` imports, relative imports resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            # ``from aep2 import payee`` names a module through its alias.
            yield from (f"{target}.{alias.name}" for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(floor: str) -> list[str]:
    """Upward imports of every module under the package ``floor``, as ``module -> import``."""
    found = []
    root = PACKAGE.joinpath(*floor.split(".")[1:])
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path)
        source = path.read_text()
        for name in imports_of(source, module, is_package=path.name == "__init__.py"):
            if not _within(name, "aep2") and not _within(name, "workers"):
                continue
            if floor == "aep2.protocol":
                bad = name != "aep2" and not any(_within(name, ok) for ok in PROTOCOL_ALLOWED)
            else:
                bad = any(_within(name, up) for up in FORBIDDEN[floor])
            if bad:
                found.append(f"{module} -> {name}")
    return found


@pytest.mark.parametrize("floor", ["aep2.protocol", "aep2.payer", "aep2.payee"])
def test_no_upward_import(floor: str) -> None:
    assert violations(floor) == []


def test_the_checker_sees_relative_and_lazy_imports() -> None:
    source = "def f():\n    from ..transports import x402_server\n    from . import check\n"
    names = set(imports_of(source, "aep2.payee.web"))
    assert "aep2.transports.x402_server" in names
    assert "aep2.payee.check" in names
    assert "aep2.payee" in names


def test_every_floor_exists() -> None:
    for floor in ("protocol", "payer", "payee", "transports"):
        assert (PACKAGE / floor / "__init__.py").is_file()
