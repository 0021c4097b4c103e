"""Planned restarts: once a day at the configured minute, through the Heroku API when configured.

The clock is passed in; the Heroku Platform API is a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.models import BotStatus, ConnectionEvent
from bot.supervisor.planned_restart import PlannedRestart, next_planned_restart, planned_restart_perform
from tests.bot.test_webhooks import RecordingServer

API_KEY = "heroku-test-token-0123456789"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("hhmm", "now", "expected"),
    [
        ("03:30", "2026-11-28 01:00:00", "2026-11-28 03:30:00"),
        ("03:30", "2026-11-28 03:29:59", "2026-11-28 03:30:00"),
        ("03:30", "2026-11-28 03:30:00", "2026-11-29 03:30:00"),
        ("03:30", "2026-11-28 22:00:00", "2026-11-29 03:30:00"),
        ("00:00", "2026-12-31 23:59:00", "2027-01-01 00:00:00"),
        ("23:59", "2028-02-28 23:59:30", "2028-02-29 23:59:00"),
    ],
)
def test_the_next_planned_restart_is_the_first_such_minute_after_now(hhmm: str, now: str, expected: str) -> None:
    assert next_planned_restart(at_hhmm=hhmm, now=at(now)) == at(expected)


def test_the_time_is_utc_whatever_zone_now_is_given_in() -> None:
    from zoneinfo import ZoneInfo

    berlin = datetime(2026, 11, 28, 4, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 03:00 UTC

    assert next_planned_restart(at_hhmm="03:30", now=berlin) == at("2026-11-28 03:30:00")


def test_no_time_means_no_planned_restarts() -> None:
    assert next_planned_restart(at_hhmm="", now=at("2026-11-28 01:00:00")) is None


def test_a_bad_time_or_a_naive_clock_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        next_planned_restart(at_hhmm="3:30", now=at("2026-11-28 01:00:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_planned_restart(at_hhmm="03:30", now=datetime(2026, 11, 28, 1, 0))


class TestPlannedRestart:
    def test_it_is_due_once_a_day_at_the_planned_minute(self) -> None:
        planned = PlannedRestart(started_at=at("2026-11-28 01:00:00"), at_hhmm="03:30")
        clock = at("2026-11-28 01:00:00")
        fired = []
        while clock < at("2026-11-30 12:00:00"):
            if planned.due(clock):
                fired.append(clock)
            clock += timedelta(seconds=20)

        assert fired == [at("2026-11-28 03:30:00"), at("2026-11-29 03:30:00"), at("2026-11-30 03:30:00")]

    def test_a_process_started_just_before_the_time_waits_for_the_next_day(self) -> None:
        planned = PlannedRestart(started_at=at("2026-11-28 03:10:00"), at_hhmm="03:30")

        assert planned.next_at == at("2026-11-29 03:30:00")
        assert not planned.due(at("2026-11-28 03:30:00"))

    def test_the_process_the_restart_started_does_not_restart_again(self) -> None:
        planned = PlannedRestart(started_at=at("2026-11-28 03:30:40"), at_hhmm="03:30")

        assert not planned.due(at("2026-11-28 03:31:00"))
        assert planned.next_at == at("2026-11-29 03:30:00")

    def test_a_stalled_loop_fires_late_once_and_plans_the_next_day(self) -> None:
        planned = PlannedRestart(started_at=at("2026-11-28 01:00:00"), at_hhmm="03:30")

        assert planned.due(at("2026-11-28 05:00:00")) is True
        assert planned.due(at("2026-11-28 05:00:20")) is False
        assert planned.next_at == at("2026-11-29 03:30:00")

    def test_it_reads_planned_restart_at_from_the_settings(self, settings) -> None:
        settings.PLANNED_RESTART_AT = ""
        assert PlannedRestart(started_at=at("2026-11-28 01:00:00")).enabled is False
        assert not PlannedRestart(started_at=at("2026-11-28 01:00:00")).due(at("2026-11-29 01:00:00"))

        settings.PLANNED_RESTART_AT = "04:15"
        assert PlannedRestart(started_at=at("2026-11-28 01:00:00")).next_at == at("2026-11-28 04:15:00")


@pytest.fixture
def heroku(settings) -> Iterator:
    """Start a stand-in Heroku API with the given answer and point the settings at it."""
    servers: list[RecordingServer] = []

    def start(status: int, hold: threading.Event | None = None, app: str = "blacksky-bot") -> RecordingServer:
        server = RecordingServer(respond=lambda n: (status, b'{"id": "x"}'), hold=hold)
        servers.append(server)
        settings.HEROKU_API_URL = server.url
        settings.HEROKU_API_KEY = API_KEY
        settings.HEROKU_APP_NAME = app
        settings.PLANNED_RESTART_AT = "03:30"
        return server

    yield start
    for server in servers:
        server.stop()


NOW = at("2026-11-28 03:30:00")


@pytest.mark.django_db
class TestPlannedRestartPerform:
    def test_it_restarts_the_worker_dyno_through_the_platform_api(self, heroku) -> None:
        BotStatus.objects.create(session_name="default", state="connected")
        server = heroku(202)

        result = planned_restart_perform(now=NOW)

        [request] = server.requests
        assert (request.method, request.path) == ("DELETE", "/apps/blacksky-bot/dynos/worker")
        assert request.headers["Accept"] == "application/vnd.heroku+json; version=3"
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert result.dyno_restart == "requested" and result.restart_child is False
        event = ConnectionEvent.objects.get()
        assert (event.from_state, event.to_state, event.reason, event.at) == (
            "connected",
            "stopped",
            "planned_restart",
            NOW,
        )
        assert event.detail == {"at_hhmm": "03:30", "dyno": "worker", "dyno_restart": "requested"}
        assert BotStatus.objects.get().state == "stopped"

    def test_a_refused_token_is_recorded_and_the_child_is_restarted_instead(self, heroku, caplog) -> None:
        server = heroku(401)

        with caplog.at_level(logging.INFO):
            result = planned_restart_perform(now=NOW)

        assert len(server.requests) == 1
        assert result.dyno_restart == "failed" and result.restart_child is True
        assert "refused the token (401)" in result.error
        event = ConnectionEvent.objects.get()
        assert event.detail["dyno_restart"] == "failed" and "401" in event.detail["error"]
        assert API_KEY not in caplog.text and API_KEY not in result.error
        assert any("dyno restart failed" in r.getMessage() for r in caplog.records)

    def test_an_api_that_does_not_answer_costs_the_timeout_and_no_more(self, heroku) -> None:
        hold = threading.Event()
        heroku(202, hold=hold)

        result = planned_restart_perform(now=NOW, timeout=0.3)
        hold.set()

        assert result.dyno_restart == "failed" and result.restart_child is True
        assert "did not answer within 0.3 s" in result.error
        assert ConnectionEvent.objects.get().detail["dyno_restart"] == "failed"

    def test_without_heroku_settings_it_only_records_and_restarts_the_child(self, settings) -> None:
        settings.HEROKU_API_KEY = ""
        settings.HEROKU_APP_NAME = ""

        result = planned_restart_perform(now=NOW, session_name="second")

        assert result.dyno_restart == "not_configured" and result.restart_child is True
        event = ConnectionEvent.objects.get()
        assert (event.session_name, event.reason, event.detail["dyno_restart"]) == (
            "second",
            "planned_restart",
            "not_configured",
        )
