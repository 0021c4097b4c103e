# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""The uptime figures stop when the bot process stops: a real runbot, then /stats read later."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from bot.models import BotStatus
from ops.selectors.stats import session_stats
from tests.bot.fixtures.processes import ROOT, Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

READ_TWICE = """
import django, json; django.setup()
from datetime import timedelta
from django.utils import timezone
from ops.selectors.stats import session_stats
now = timezone.now()
print(json.dumps([session_stats(session_name="up1", now=now + timedelta(seconds=s)) for s in (0, 600)], default=str))
"""


@pytest.mark.slow
def test_after_a_clean_stop_the_uptime_no_longer_grows(runbot_env, tmp_path, child_db):
    bot = Runbot(["--transport", "console", "--session", "up1", "--no-scheduler"], runbot_env, tmp_path)
    bot.wait_for(r"connection state session=up1 from=connecting to=connected")
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    result = subprocess.run(
        [sys.executable, "-c", READ_TWICE], env=runbot_env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    first, later = json.loads(result.stdout.strip().splitlines()[-1])
    assert first["process_running"] is False and first["pid"] is None
    assert first["process_uptime_seconds"] is not None and first["process_uptime_seconds"] < 60
    assert later["process_uptime_seconds"] == first["process_uptime_seconds"]  # ten minutes later: the same


@pytest.mark.django_db
def test_a_killed_process_stops_its_uptime_at_the_last_heartbeat(settings):
    now = timezone.now()
    BotStatus.objects.create(
        session_name="killed9",
        state="connected",
        pid=4242,
        process_started_at=now - timedelta(seconds=600),
        connected_since=now - timedelta(seconds=500),
        last_heartbeat_at=now - timedelta(seconds=settings.HEARTBEAT_TIMEOUT + 240),
    )
    stats = session_stats(session_name="killed9", now=now)
    assert stats["process_running"] is False
    assert stats["process_uptime_seconds"] == 600 - settings.HEARTBEAT_TIMEOUT - 240
    assert stats["connection_uptime_seconds"] == 500 - settings.HEARTBEAT_TIMEOUT - 240


@pytest.mark.django_db
def test_a_beating_process_counts_up_to_now():
    now = timezone.now()
    BotStatus.objects.create(
        session_name="alive1",
        state="connected",
        pid=4243,
        process_started_at=now - timedelta(seconds=90),
        connected_since=now - timedelta(seconds=30),
        last_heartbeat_at=now - timedelta(seconds=2),
    )
    stats = session_stats(session_name="alive1", now=now)
    assert (stats["process_running"], stats["process_uptime_seconds"], stats["connection_uptime_seconds"]) == (
        True,
        90.0,
        30.0,
    )
