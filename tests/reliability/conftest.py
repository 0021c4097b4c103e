"""Fixtures of the reliability suite: private session stores, and an environment for processes
that share this run's database (PostgreSQL: the test database; SQLite: a file copy of it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbshare import shared_database_url


@pytest.fixture(autouse=True)
def _isolated_sessions(settings, tmp_path: Path) -> None:
    settings.WA_STORE_DIR = tmp_path / "wa"
    settings.WA_SESSION_DATA = ""
    settings.WA_CREDENTIALS = ""
    settings.WA_AUTH_STATE = ""
    settings.HEROKU_API_KEY = ""
    settings.HEROKU_APP_NAME = ""
    settings.SESSION_ENCRYPTION_KEY = ""


@pytest.fixture
def shared_db_env(subprocess_env, settings, tmp_path: Path) -> dict[str, str]:
    """The environment of a process working on this test's database and session stores.

    The SQLite test database lives in memory: the sqlite3 backup API copies its migrated schema to a
    file the process opens (the test then sees that file, not its own database).
    """
    env = dict(subprocess_env)
    env.update(
        {
            "WA_STORE_DIR": str(settings.WA_STORE_DIR),
            "SECRET_KEY": settings.SECRET_KEY,
            "SESSION_ENCRYPTION_KEY": "",
            "WA_SESSION_DATA": "",
            "WA_CREDENTIALS": "",
            "WA_AUTH_STATE": "",
            "HEROKU_API_KEY": "",
            "HEROKU_APP_NAME": "",
            "LOG_LEVEL": "WARNING",
        }
    )
    env["DATABASE_URL"] = shared_database_url(tmp_path, "shared.sqlite3")
    return env


# --------------------------------------------------------------------------- figures
# Each reliability test prints "FIGURE <name> key=value ..." lines; they are gathered from the
# captured output and shown together at the end of the run (no -s or -rA needed).
_FIGURES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid.replace("\\", "/"):
        return
    for section, text in report.sections:
        if section == f"Captured stdout {report.when}":  # each phase's own output, once
            _FIGURES.extend(line for line in text.splitlines() if line.startswith("FIGURE "))


def pytest_terminal_summary(terminalreporter) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
