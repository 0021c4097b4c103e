"""No ``extra=`` key may be a LogRecord attribute: Python raises KeyError at the call, so the log
line's caller fails (with LOG_LEVEL=DEBUG every command's first use once answered "Sorry")."""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path

import pytest

from blacksky_site.logging import RESERVED

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("blacksky_site", "bot", "ops", "sessions_store", "media_cdn", "bench", "scripts")


def extra_keys(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, key) of every literal key of an ``extra={...}`` or ``extra=dict(...)`` argument."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg != "extra":
                continue
            value = keyword.value
            if isinstance(value, ast.Dict):
                found += [(k.lineno, k.value) for k in value.keys if isinstance(k, ast.Constant)]
            elif isinstance(value, ast.Call) and getattr(value.func, "id", "") == "dict":
                found += [(value.lineno, k.arg) for k in value.keywords if k.arg]
    return found


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def test_the_scan_sees_the_project_s_log_calls() -> None:
    keys = [key for path in sources() for _, key in extra_keys(ast.parse(path.read_text(), str(path)))]
    assert len(keys) > 100 and "session" in keys


def test_the_scan_finds_a_reserved_key_in_both_spellings() -> None:
    tree = ast.parse('log.info("a", extra={"module": m})\nlog.debug("b", extra=dict(name=n, ok=1))')
    assert [key for _, key in extra_keys(tree)] == ["module", "name", "ok"]


def test_no_log_call_passes_a_reserved_logrecord_attribute_as_an_extra() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} extra key {key!r}"
        for path in sources()
        for line, key in extra_keys(ast.parse(path.read_text(), str(path)))
        if key in RESERVED
    ]
    assert offenders == []


@pytest.mark.parametrize("key", sorted(RESERVED))
def test_every_reserved_key_really_breaks_a_log_call(key: str) -> None:
    # Why the list matters: each of these makes logging itself raise (taskName from Python 3.12 on).
    if key == "taskName" and sys.version_info < (3, 12):
        pytest.skip("LogRecord has taskName from Python 3.12")
    with pytest.raises(KeyError):
        logging.getLogger("tests.extras").makeRecord("x", logging.INFO, __file__, 1, "m", (), None, extra={key: 1})
