"""A build needs no configuration; serving and the bot need the real SECRET_KEY and say so in one sentence.

Heroku's Python buildpack runs ``manage.py collectstatic --noinput`` during the build, before any
config var is exposed (``app.json`` and the Procfile add no other build step, and there are no
``bin/`` build hooks): it must work with no environment at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = shutil.ignore_patterns(".git", "var", "staticfiles", "tests", ".env", ".pytest_cache", ".ruff_cache")


@pytest.fixture
def fresh_checkout(tmp_path: Path) -> Path:
    """What `git push heroku` ships: the source without .env, var/ or collected files."""
    target = tmp_path / "app"
    shutil.copytree(ROOT, target, ignore=NOT_SHIPPED)
    return target


def test_the_build_has_no_step_but_collectstatic() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    assert not app.get("scripts"), "a postdeploy/pr-predestroy script would run without the new config vars"
    assert not (ROOT / "bin").exists(), "bin/pre_compile or bin/post_compile hooks run during the build"
    assert [line.split(":")[0] for line in (ROOT / "Procfile").read_text().splitlines()] == ["release", "web", "worker"]


def test_collectstatic_works_with_no_environment_at_all(fresh_checkout: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "1"],
        env={},
        cwd=fresh_checkout,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (fresh_checkout / "staticfiles" / "staticfiles.json").exists()
    assert list((fresh_checkout / "staticfiles" / "admin" / "css").glob("base.*.css.gz"))
    assert not (fresh_checkout / "var").exists()  # no key generated, nothing written beside the build


def _assert_one_sentence_about_the_key(stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if "configuration error" in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("configuration error: SECRET_KEY is not set")
    assert "DEBUG" not in stderr and "Traceback" not in stderr


def test_gunicorn_without_secret_key_stops_with_one_sentence_naming_it(fresh_checkout: Path) -> None:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    result = subprocess.run(
        [gunicorn, "blacksky_site.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
        env={"PATH": "/usr/bin:/bin"},
        cwd=fresh_checkout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    _assert_one_sentence_about_the_key(result.stderr)
    assert "Worker failed to boot" in result.stderr  # the master stopped; it did not respawn workers for ever


def test_runbot_without_secret_key_stops_with_one_sentence_naming_it(subprocess_env, manage_py) -> None:
    del subprocess_env["SECRET_KEY"]
    subprocess_env["DEBUG"] = "false"
    result = subprocess.run(
        [*manage_py, "runbot", "--transport", "console"],
        env=subprocess_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        input="",
    )
    assert result.returncode == 2
    _assert_one_sentence_about_the_key(result.stderr)
