"""sessions_store imports nothing from bot: the bot app depends on the session store, never the
other way round (what needs both, like the admin actions through the control table, lives in bot)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sessions_store"


def imported_modules(source: str, *, module: str, is_package: bool) -> list[str]:
    """Absolute names of the modules ``source`` imports, relative imports resolved against ``module``;
    ``importlib.import_module("...")`` and ``__import__("...")`` with a literal name count too."""
    names = []
    here = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            names.append(target)
            names.extend(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                names.append(node.args[0].value)
    return names


def imports_bot(names: list[str]) -> list[str]:
    return [name for name in names if name == "bot" or name.startswith("bot.")]


def test_the_checker_sees_every_way_of_importing_bot_and_nothing_else() -> None:
    source = (
        "import bot.control\nfrom bot import admin\nimport importlib\nimportlib.import_module('bot.models')\n"
        "import os, sessions_store.models, botocore\nfrom . import bot as local\nfrom ..bot import x\n"
    )
    found = imports_bot(imported_modules(source, module="sessions_store.services", is_package=True))
    assert found == ["bot.control", "bot", "bot.admin", "bot.models"]


def test_no_sessions_store_module_imports_bot() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 5  # the walk really reached the package
    offenders = {}
    for path in files:
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        found = imports_bot(imported_modules(path.read_text(), module=module, is_package=is_package))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
