"""Fixtures of the sessions_store tests: a private store directory and no session env vars."""

from __future__ import annotations

from pathlib import Path

import pytest


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
def is_postgres(settings) -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
