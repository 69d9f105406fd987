"""The import rules of docs/architecture.md: the core imports no Flask, the house, nor views."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOUSE = {
    "__init__",
    "__main__",
    "base_path",
    "runtime",
    "formats",
    "problems",
    "rate_limits",
    "access",
    "cli",
    "commands",
}
WEB = ("flask", "flask_limiter", "werkzeug")


def _modules() -> dict[str, Path]:
    paths = [*ROOT.glob("service/**/*.py"), *ROOT.glob("digests/**/*.py")]
    return {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in paths}


def _imports(name: str, path: Path) -> set[str]:
    """Every module `path` imports, relative imports made absolute."""
    package = name.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _layer(name: str) -> str:
    parts = name.split(".")
    if parts[:2] == ["service", "views"]:
        return "views"
    if parts[0] == "service" and parts[-1] in HOUSE and len(parts) == 2:
        return "house"
    if name == "service":
        return "house"
    return "core"


MODULES = _modules()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "core"))
def test_the_core_imports_no_flask_no_house_and_no_views(name):
    imports = _imports(name, MODULES[name])
    assert not {i for i in imports if i.split(".")[0] in WEB}
    outside = {i for i in imports if i in MODULES and _layer(i) != "core"}
    outside |= {i for i in imports if i.startswith("service.views")}
    assert not outside


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) != "views"))
def test_only_the_app_factory_imports_the_views(name):
    if name == "service":
        return
    assert not {i for i in _imports(name, MODULES[name]) if i.startswith("service.views")}


def test_the_rules_cover_every_module():
    assert {"service.article", "service.views.rendering", "service.cli"} <= set(MODULES)
    assert _layer("service.runtime") == "house"
    assert _layer("service.settings") == "core"
    assert _layer("service.article") == "core"
