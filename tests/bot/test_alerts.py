"""The owners' message after an outage: only for outages worth telling, in plain words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.child.outage_notice import Outage, duration_words, outage_last, outage_message, reason_words
from bot.events import connection_event_record

T0 = datetime(2026, 11, 28, 3, 4, 0, tzinfo=UTC)


def test_a_short_blip_sends_nothing(settings) -> None:
    settings.OUTAGE_ALERT_MINUTES = 3

    assert outage_message(down_since=T0, back_at=T0 + timedelta(seconds=179), reason="keepalive_timeout") is None


def test_a_long_outage_says_how_long_since_when_and_why(settings) -> None:
    settings.OUTAGE_ALERT_MINUTES = 3
    settings.BOT_NAME = "BLACKSKY-MD"

    text = outage_message(down_since=T0, back_at=T0 + timedelta(minutes=12, seconds=30), reason="keepalive_timeout")

    assert text == (
        "✅ BLACKSKY-MD is back online.\n"
        "It was offline for 12 min (from 2026-11-28 03:04 to 03:16 UTC).\n"
        "Reason: WhatsApp stopped answering (keep-alive timeout)."
    )


def test_the_threshold_follows_the_setting_and_can_be_passed_in(settings) -> None:
    settings.OUTAGE_ALERT_MINUTES = 10
    five_minutes = {"down_since": T0, "back_at": T0 + timedelta(minutes=5), "reason": "crash"}

    assert outage_message(**five_minutes) is None
    assert outage_message(**five_minutes, min_duration=timedelta(minutes=1)) is not None
    settings.OUTAGE_ALERT_MINUTES = 5
    assert "5 min" in outage_message(**five_minutes)


def test_a_time_travelling_outage_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="before"):
        outage_message(down_since=T0, back_at=T0 - timedelta(seconds=1), reason="crash")


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=12, seconds=59), "12 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=1, minutes=5), "1 h 5 min"),
        (timedelta(days=2, hours=3, minutes=7), "2 d 3 h"),
        (timedelta(days=1), "1 d"),
    ],
)
def test_durations_read_like_a_person_wrote_them(delta: timedelta, words: str) -> None:
    assert duration_words(delta) == words


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("hung", "the bot process hung and was restarted"),
        ("stream_error_xml_not_well_formed", "WhatsApp closed the stream (xml not well formed)"),
        ("connect_failure_service_unavailable", "WhatsApp refused the connection (service unavailable)"),
        ("temporary_ban_101", "a temporary ban by WhatsApp (101)"),
        ("something_new", "something new"),
        ("", "unknown"),
    ],
)
def test_recorded_reasons_become_words(reason: str, words: str) -> None:
    assert reason_words(reason) == words


def record(to_state: str, at: datetime, from_state: str = "", reason: str = "", session_name: str = "default") -> None:
    connection_event_record(session_name=session_name, from_state=from_state, to_state=to_state, reason=reason, at=at)


@pytest.mark.django_db
class TestOutageLast:
    def test_it_finds_when_the_connection_was_lost_why_and_when_it_came_back(self) -> None:
        record("connected", T0, from_state="connecting")
        record("reconnecting", T0 + timedelta(hours=1), from_state="connected", reason="keepalive_timeout")
        record("starting", T0 + timedelta(hours=1, minutes=2), from_state="reconnecting", reason="hung")
        record("connecting", T0 + timedelta(hours=1, minutes=19), from_state="starting")
        record("connected", T0 + timedelta(hours=1, minutes=20), from_state="connecting")

        outage = outage_last(session_name="default")

        assert outage == Outage(
            down_since=T0 + timedelta(hours=1), back_at=T0 + timedelta(hours=1, minutes=20), reason="keepalive_timeout"
        )
        text = outage_message(down_since=outage.down_since, back_at=outage.back_at, reason=outage.reason)
        assert "offline for 20 min" in text

    def test_a_process_killed_while_connected_counts_from_its_successors_first_event(self) -> None:
        record("connected", T0, from_state="connecting")
        record("starting", T0 + timedelta(minutes=40), from_state="connected", reason="process_start")
        record("connected", T0 + timedelta(minutes=41), from_state="connecting")

        outage = outage_last(session_name="default")

        assert (outage.down_since, outage.reason) == (T0 + timedelta(minutes=40), "process_start")

    def test_the_first_connection_ever_is_no_outage(self) -> None:
        record("connecting", T0, from_state="starting")
        record("connected", T0 + timedelta(minutes=10), from_state="connecting")

        assert outage_last(session_name="default") is None

    def test_it_looks_only_at_the_latest_reconnection_before_now(self) -> None:
        record("connected", T0, from_state="connecting")
        record("reconnecting", T0 + timedelta(minutes=1), from_state="connected", reason="disconnected")
        record("connected", T0 + timedelta(minutes=5), from_state="reconnecting")
        record("reconnecting", T0 + timedelta(minutes=50), from_state="connected", reason="stream_error")

        assert outage_last(session_name="default", now=T0 + timedelta(minutes=6)).reason == "disconnected"
        assert outage_last(session_name="default", now=T0 + timedelta(minutes=4)) is None
        still_down = outage_last(session_name="default")
        assert still_down.back_at == T0 + timedelta(minutes=5), "no new reconnection yet: the old outage"

    def test_other_sessions_do_not_count(self) -> None:
        record("connected", T0, from_state="connecting")
        record("reconnecting", T0 + timedelta(minutes=1), from_state="connected", session_name="other")
        record("connected", T0 + timedelta(minutes=30), from_state="reconnecting", session_name="other")

        assert outage_last(session_name="default") is None
