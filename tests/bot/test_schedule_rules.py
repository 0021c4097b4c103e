"""The ``<when>`` of ``.schedule`` by table: each row a text and a clock, and the first occurrence (or the
refusal) it gives; then the next occurrences of each repeating kind, daylight saving included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cron import CronError, parse_cron
from bot.schedule_rules import Rule, WhenError, parse_when, zone_named

BERLIN = ZoneInfo("Europe/Berlin")
# Thursday 3 December 2026, 15:00 UTC = 16:00 in Berlin
NOW = datetime(2026, 12, 3, 15, 0, 20, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "kind", "first", "message"),
    [
        ("in 10m tea time", "once", NOW + timedelta(minutes=10), "tea time"),
        ("in 1h30m stand up", "once", NOW + timedelta(hours=1, minutes=30), "stand up"),
        ("in 2d x", "once", NOW + timedelta(days=2), "x"),
        ("at 18:30 dinner", "once", utc(2026, 12, 3, 17, 30), "dinner"),
        ("at 2026-12-24 18:00 presents", "once", utc(2026, 12, 24, 17, 0), "presents"),
        ("tomorrow 09:00 standup", "once", utc(2026, 12, 4, 8, 0), "standup"),
        ("daily 08:00 good morning", "weekly", utc(2026, 12, 4, 7, 0), "good morning"),
        ("daily 16:01 soon", "weekly", utc(2026, 12, 3, 15, 1), "soon"),
        ("mon,wed 19:00 training", "weekly", utc(2026, 12, 7, 18, 0), "training"),
        ("weekdays 07:30 go", "weekly", utc(2026, 12, 4, 6, 30), "go"),
        ("sat-sun 10:00 brunch", "weekly", utc(2026, 12, 5, 9, 0), "brunch"),
        ("0 8 * * * morning", "cron", utc(2026, 12, 4, 7, 0), "morning"),
        ("*/15 * * * * tick", "cron", utc(2026, 12, 3, 15, 15), "tick"),
        ("cron 30 9 1 * * rent", "cron", utc(2027, 1, 1, 8, 30), "rent"),
        ("0 9 * * mon-fri work", "cron", utc(2026, 12, 4, 8, 0), "work"),
        ("every 90m water", "every", utc(2026, 12, 3, 16, 30), "water"),
        ("in 10m keeps\n  its lines", "once", NOW + timedelta(minutes=10), "keeps\n  its lines"),
    ],
)
def test_a_when_gives_its_first_occurrence_and_the_message(text, kind, first, message):
    parsed = parse_when(text, now=NOW, tz=BERLIN)
    assert (parsed.rule.kind, parsed.first, parsed.text) == (kind, first, message)
    assert Rule.from_json(parsed.rule.to_json()) == parsed.rule


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("at 25:61 hi", "25:61 is not a time of day"),
        ("daily 24:00 hi", "24:00 is not a time of day"),
        ("every 1s spam", "the shortest interval is one minute"),
        ("in 30s spam", "the shortest interval is one minute"),
        ("in 0m spam", "the shortest interval is one minute"),
        ("at 08:00 too late", "08:00 has already passed"),
        ("at 2025-01-01 10:00 old", "has already passed"),
        ("at 2026-02-30 10:00 no such day", "is not a date"),
        ("in 400d far", "more than a year ahead"),
        (" ".join(["*"] * 500) + " hi", "this one has 500"),
        ("5 * * * hi", "this one has 4"),
        ("61 * * * * hi", "not valid: '61' is not a minute"),
        ("0 0 31 2 * never", "never comes round"),
        ("*/0 * * * * hi", "bad step"),
        ("soon hi", "I can't read soon hi as a time"),
        ("", "Say when"),
    ],
)
def test_bad_input_is_refused_with_one_sentence(text, words):
    with pytest.raises(WhenError) as refused:
        parse_when(text, now=NOW, tz=BERLIN)
    assert words in str(refused.value)


def test_a_daily_time_follows_the_zone_through_daylight_saving():
    rule = parse_when("daily 08:00 hi", now=utc(2026, 3, 27, 12, 0), tz=BERLIN).rule
    saturday = rule.next_after(utc(2026, 3, 27, 12, 0), BERLIN)
    sunday = rule.next_after(saturday, BERLIN)  # clocks go forward on 29 March
    monday = rule.next_after(sunday, BERLIN)
    assert [saturday.hour, sunday.hour, monday.hour] == [7, 6, 6]  # UTC
    assert {moment.astimezone(BERLIN).hour for moment in (saturday, sunday, monday)} == {8}


def test_repeating_rules_give_one_occurrence_per_step_never_two_in_a_minute():
    for text in ("* * * * * x", "every 1m x", "daily 00:00 x", "mon,fri 12:00 x"):
        rule = parse_when(text, now=NOW, tz=BERLIN).rule
        moment, seen = NOW, []
        for _ in range(30):
            moment = rule.next_after(moment, BERLIN)
            seen.append(moment)
        assert all(b - a >= timedelta(minutes=1) for a, b in zip(seen, seen[1:], strict=False))


def test_a_once_rule_has_no_next_occurrence_after_it():
    parsed = parse_when("in 10m x", now=NOW, tz=BERLIN)
    assert parsed.rule.next_after(parsed.first, BERLIN) is None


def test_cron_day_fields_match_either_when_both_are_given():
    cron = parse_cron("0 12 13 * fri")
    first = cron.next_after(NOW, ZoneInfo("UTC"))
    assert first == utc(2026, 12, 4, 12, 0)  # a Friday, before the 13th
    with pytest.raises(CronError):
        parse_cron("1-0 * * * *")


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "Europe/Berlin; rm", "x" * 100, ""])
def test_unknown_time_zones_are_refused(name):
    with pytest.raises(WhenError):
        zone_named(name)
    assert zone_named("America/New_York").key == "America/New_York"


def test_the_night_the_clocks_go_back_each_wall_time_fires_once():
    start = utc(2026, 10, 24, 23, 0)  # 01:00 in Berlin; at 03:00 summer time the clocks go back to 02:00
    rule = parse_when("*/30 * * * * x", now=start, tz=BERLIN).rule
    moment, walls = start, []
    for _ in range(8):
        moment = rule.next_after(moment, BERLIN)
        walls.append(moment.astimezone(BERLIN).strftime("%H:%M"))
    assert walls == ["01:30", "02:00", "02:30", "03:00", "03:30", "04:00", "04:30", "05:00"]
