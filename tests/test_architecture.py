"""Checks that keep the layout honest: which process may load what, module size, no issue numbers.

The import rules are import-linter contracts in pyproject.toml ``[tool.importlinter]``, read from the
code without running it; the one that matters most at run time (the runbot parent and the web pages
never load neonize) is also checked by importing the real modules in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SOURCE_DIRS = ("bot", "ops", "sessions_store", "media_cdn", "blacksky_site", "scripts", "bench")
MAX_MODULE_LINES = 400
ISSUE_CITATION = re.compile(r"\bissues? ?#?\d+\b", re.IGNORECASE)


def _source_files(*, with_migrations: bool) -> list[Path]:
    """Every ``*.py`` under SOURCE_DIRS, tests never included, migrations only when asked."""
    files = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or path.name.startswith("test_") or path.name == "conftest.py":
                continue
            if "migrations" in parts and not with_migrations:
                continue
            files.append(path)
    return files


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"{lint_imports} is missing: pip install -r requirements-dev.txt"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"lint-imports found broken contracts:\n{result.stdout}{result.stderr}", pytrace=False)


def test_no_source_module_is_over_the_line_limit() -> None:
    lengths = {
        path: len(path.read_text(encoding="utf-8").splitlines()) for path in _source_files(with_migrations=False)
    }
    too_long = sorted(((n, path) for path, n in lengths.items() if n > MAX_MODULE_LINES), reverse=True)
    report = "\n".join(f"  {path.relative_to(ROOT)}: {n} lines" for n, path in too_long)
    if too_long:
        pytest.fail(f"modules over {MAX_MODULE_LINES} lines (split them by concern):\n{report}", pytrace=False)


def test_no_source_line_cites_an_issue_number() -> None:
    citations = [
        f"  {path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _source_files(with_migrations=True)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ISSUE_CITATION.search(line)
    ]
    report = "\n".join(citations)
    if citations:
        pytest.fail(f"comments say why, not which issue asked for it:\n{report}", pytrace=False)


# What each process imports at start, and the module prefixes it must not end up with.
PROCESS_IMPORTS = {
    "runbot parent": (
        ["bot.management.commands.runbot", "bot.supervisor.loop", "bot.supervisor.fleet"],
        ["neonize", "bot.transport.neonize", "bot.child"],
    ),
    "web pages": (
        ["blacksky_site.urls", "ops.views"],
        ["neonize", "bot.transport", "bot.dispatch", "bot.child", "bot.supervisor"],
    ),
}

_PROBE = """
import importlib, json, sys
import django
django.setup()
for name in sys.argv[1].split(","):
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("process", sorted(PROCESS_IMPORTS))
def test_process_does_not_load_forbidden_modules(process: str) -> None:
    modules, forbidden = PROCESS_IMPORTS[process]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(modules)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"importing {modules} failed:\n{result.stderr}"
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    leaked = [name for name in loaded if any(name == f or name.startswith(f + ".") for f in forbidden)]
    assert not leaked, f"the {process} ({', '.join(modules)}) loaded {leaked}"


def test_command_modules_use_the_context_capabilities_never_the_router() -> None:
    """A command gets state, owners, registry, stats... from CommandContext; ``ctx.router`` is gone."""
    from bot.dispatch.context import CommandContext

    assert "router" not in CommandContext.__dataclass_fields__
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "bot" / "commands").glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bctx\.router\b|\brouter\.", line)
    ]
    assert not offenders, "commands reach into the router:\n" + "\n".join(offenders)
