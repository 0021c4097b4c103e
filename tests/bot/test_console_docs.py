"""docs/console.md's examples, run as they are written: each command's output is the one shown."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.fixtures.processes import child_db, migrated_sqlite, runbot_env  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"```bash\n(?P<command>.*?)\n```\n```json\n(?P<output>.*?)\n```", re.S)

pytestmark = pytest.mark.slow


def _examples() -> list[tuple[str, list[dict]]]:
    text = (ROOT / "docs" / "console.md").read_text()
    return [(m["command"], [json.loads(line) for line in m["output"].splitlines()]) for m in EXAMPLE.finditer(text)]


def _normal(action: dict) -> dict:
    """What differs from run to run: the ping time and the run token in generated message ids."""
    reply_to = re.sub(r"^CONSOLE[0-9A-F]{6}(\d{6})$", r"CONSOLE<run>\1", action.get("reply_to") or "")
    text = re.sub(r"pong \(\d+ ms\)", "pong (N ms)", action.get("text", ""))
    return {**action, "text": text, "reply_to": reply_to or action.get("reply_to")}


def test_the_console_doc_lists_every_input_field():
    from bot.transport.console import INPUT_FIELDS

    text = (ROOT / "docs" / "console.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \|", text, re.M))
    assert set(INPUT_FIELDS) <= documented, set(INPUT_FIELDS) - documented


def test_the_console_doc_has_three_examples():
    assert len(_examples()) == 3


@pytest.mark.parametrize("index", range(3))
def test_each_console_example_prints_what_the_doc_shows(index, runbot_env):  # noqa: F811
    command, expected = _examples()[index]
    # `echo '<line>' | .venv/bin/python manage.py runbot ...`: the same line and arguments, this interpreter.
    piped, _, runbot = command.replace("\\\n", " ").partition("|")
    [line] = shlex.split(piped)[1:]
    args = shlex.split(runbot.replace("2>/dev/null", ""))
    assert args[:3] == [".venv/bin/python", "manage.py", "runbot"]
    result = subprocess.run(
        [sys.executable, *args[1:]],
        input=line + "\n",
        env=runbot_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    printed = [json.loads(out) for out in result.stdout.splitlines()]
    assert [_normal(a) for a in printed] == [_normal(a) for a in expected]
