"""Fixtures of the operations-page tests (web dyno)."""

import pytest

from ops.stats_cache import stats_cache


@pytest.fixture(autouse=True)
def _clear_stats_cache():
    """Each test starts and ends without a cached /stats snapshot (it would hold another test's rows)."""
    stats_cache.clear()
    yield
    stats_cache.clear()
