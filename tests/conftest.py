"""Shared fixtures: a subprocess environment that points at the test run's database."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def subprocess_env(tmp_path: Path) -> dict[str, str]:
    """Environment for `manage.py` subprocesses: no .env file, a test secret, own store dirs.

    The database stays whatever DATABASE_URL says (SQLite file under tmp_path by default).
    """
    env = {k: v for k, v in os.environ.items() if k not in {"DYNO", "CLOUD_MODE"}}
    env.update(
        {
            "BLACKSKY_DOTENV": "0",
            "DJANGO_SETTINGS_MODULE": "blacksky_site.settings",
            "SECRET_KEY": "subprocess-test-secret-key-0123456789abcdefghijklmnop",
            "WA_STORE_DIR": str(tmp_path / "wa"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            # The starter pack costs ~5 s of ffmpeg per fresh database; tests that need it set "true".
            "MEDIA_STARTER_PACK": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return env


@pytest.fixture
def manage_py() -> list[str]:
    return [sys.executable, str(ROOT / "manage.py")]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` drive real processes against wall-clock bounds (lease TTLs, shutdown
    grace) on a shared 2-core machine: one rerun absorbs a scheduling hiccup, shows as ``R`` in the
    report, and a real regression still fails twice."""
    for item in items:
        if item.get_closest_marker("slow") is not None and item.get_closest_marker("flaky") is None:
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


@pytest.fixture(autouse=True)
def runtime_settings_cache_clear():
    """Runtime settings are cached per session for a few seconds: a row a test wrote (rolled back
    with its transaction) must not be read by the next test."""
    yield
    module = sys.modules.get("bot.runtime_settings")
    if module is not None:
        module.cache_clear()
