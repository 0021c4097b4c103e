"""Scheduled messages and timed mutes end to end, on a controlled clock: the command stores a checked
schedule as one row of django-q2's real ``Schedule`` table, django-q2's own scheduler turns the due row
into a task on the ORM broker, and the task (run here as the cluster's worker would, twice when a
standby or a retry delivers it again) writes one outbox row per occurrence and arms the next."""

from __future__ import annotations

import pydoc
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django_q.brokers import get_broker
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler
from django_q.signing import SignedPackage

from bot.models import OutboxItem, PendingOccurrence, ScheduledMessage, ScheduleOccurrence
from bot.schedule_rules import parse_when, zone_named
from bot.scheduled import q_name, scheduled_create
from bot.tasks import prune_task, scheduled_message_task
from tests.bot.dispatch_kit import ALICE, BOB, GROUP, ROOT_DIR, group_info, make_bot

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # a Thursday, 16:00 in Berlin


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    """django-q2's scheduler closes old connections first; here that one holds the test's transaction."""
    monkeypatch.setattr("django_q.scheduler.close_old_django_connections", lambda: None)


@pytest.fixture
def bot(settings, clock):
    settings.SCHEDULE_TIME_ZONE = "Europe/Berlin"
    settings.SCHEDULE_MISSED_MAX_MINUTES = 30
    settings.SCHEDULE_MAX_PER_CHAT = 10
    bot = make_bot(settings)
    bot.add_group(group_info(admins=(ALICE,)))
    return bot


def cluster_step(*, deliveries: int = 1) -> list[dict]:
    """One pass of django-q2's scheduler, then each task it queued run ``deliveries`` times (as the
    worker runs it; a second delivery is what a standby cluster or a retry would do)."""
    scheduler(broker=get_broker())
    results = []
    for row in OrmQ.objects.order_by("id"):
        task = SignedPackage.loads(row.payload)
        for _ in range(deliveries):
            results.append(pydoc.locate(task["func"])(*task["args"], **task["kwargs"]))
        row.delete()
    return results


def pending(schedule_id: int) -> list[datetime]:
    return list(Schedule.objects.filter(name=q_name(schedule_id)).values_list("next_run", flat=True))


def queued_texts() -> list[str]:
    return [row.content.get("text", "") for row in OutboxItem.objects.filter(chat=GROUP).order_by("id")]


def the_schedule() -> ScheduledMessage:
    return ScheduledMessage.objects.get(chat=GROUP)


def test_a_schedule_is_one_once_row_in_django_q2s_table(bot):
    reply = bot.run_text(".schedule in 10m tea time", chat=GROUP)
    row = the_schedule()
    assert reply == f"Scheduled #{row.pk} (once, 2026-12-03 16:10). First: 2026-12-03 16:10 Europe/Berlin."
    [schedule] = Schedule.objects.filter(name=q_name(row.pk))
    assert (schedule.func, schedule.schedule_type, schedule.kwargs) == (
        "bot.tasks.scheduled_message_task",
        Schedule.ONCE,
        f"schedule_id={row.pk}",
    )
    assert schedule.next_run == START + timedelta(minutes=10) and schedule.intended_date_kwarg == "due"


def test_nothing_is_queued_before_the_time(bot, clock):
    bot.run(".schedule in 10m tea time", chat=GROUP)
    clock.shift(timedelta(minutes=9))
    assert cluster_step() == [] and queued_texts() == []


def test_an_occurrence_delivered_twice_with_a_standby_queues_one_row(bot, clock):
    bot.run(".schedule daily 16:05 stand-up", chat=GROUP)
    row = the_schedule()
    clock.shift(timedelta(minutes=5, seconds=3))
    outcomes = [r["outcome"] for r in cluster_step(deliveries=2)]
    assert outcomes == ["queued", "duplicate"]
    assert cluster_step() == []  # the standby's scheduler: the fired row is gone, the next is tomorrow
    assert queued_texts() == ["stand-up"]
    assert pending(row.pk) == [datetime(2026, 12, 4, 15, 5, tzinfo=UTC)]
    assert OutboxItem.objects.get(chat=GROUP).answers == f"schedule:{row.pk}:20261203T150500"


def test_a_daily_schedule_sends_once_a_day_and_is_armed_again(bot, clock):
    bot.run(".schedule daily 16:05 good afternoon", chat=GROUP)
    row = the_schedule()
    for _ in range(3):
        clock.shift(timedelta(minutes=5, seconds=1))
        assert [r["outcome"] for r in cluster_step()] == ["queued"]
        clock.shift(timedelta(days=1) - timedelta(minutes=5, seconds=1))
    assert queued_texts() == ["good afternoon"] * 3
    assert len(pending(row.pk)) == 1
    row.refresh_from_db()
    assert (row.sent_count, row.skipped_count, row.occurrences.count()) == (3, 0, 3)


def test_an_occurrence_missed_briefly_is_sent_on_return(bot, clock):
    bot.run(".schedule at 16:10 hello", chat=GROUP)
    clock.shift(timedelta(minutes=10 + 25))  # the worker was down for 25 minutes
    [result] = cluster_step()
    assert result["outcome"] == "queued" and result["late_seconds"] == 25 * 60
    assert queued_texts() == ["hello"]
    row = the_schedule()
    assert not row.active and pending(row.pk) == []


def test_an_occurrence_missed_for_too_long_is_recorded_as_skipped(bot, clock):
    bot.run(".schedule * * * * * tick", chat=GROUP)
    row = the_schedule()
    clock.shift(timedelta(days=2, seconds=30))  # two days down: 2880 minutes missed
    [result] = cluster_step()
    assert result == {"outcome": "queued", "schedule": row.pk, "skipped": 2879, "late_seconds": 30}
    assert queued_texts() == ["tick"]  # only the newest, half a minute late
    row.refresh_from_db()
    assert (row.sent_count, row.skipped_count) == (1, 2879)
    assert pending(row.pk) == [START + timedelta(days=2, minutes=1)]


def test_a_once_occurrence_found_late_is_skipped_not_sent(bot, clock):
    bot.run(".schedule in 10m too late", chat=GROUP)
    clock.shift(timedelta(hours=3))
    [result] = cluster_step()
    assert result["outcome"] == "skipped" and queued_texts() == []
    [occurrence] = ScheduleOccurrence.objects.all()
    assert (occurrence.outcome, occurrence.skipped, occurrence.late_seconds) == ("skipped", 1, 170 * 60)


def test_schedules_lists_them_and_unschedule_removes_one(bot):
    bot.run(".schedule daily 08:00 morning", chat=GROUP)
    bot.run(".schedule mon,wed 19:00 training", chat=GROUP)
    first, second = ScheduledMessage.objects.order_by("id")
    listing = bot.run_text(".schedules", chat=GROUP)
    assert listing.splitlines() == [
        "Scheduled here (2):",
        f"#{first.pk} daily at 08:00, next 2026-12-04 08:00 Europe/Berlin: morning",
        f"#{second.pk} mon,wed at 19:00, next 2026-12-07 19:00 Europe/Berlin: training",
    ]
    assert bot.run_text(f".unschedule {first.pk}", chat=GROUP) == f"Schedule #{first.pk} removed."
    assert pending(first.pk) == [] and len(pending(second.pk)) == 1
    other = "120363000000000777@g.us"
    bot.add_group(group_info(other, admins=(ALICE,)))
    assert bot.run_text(f".unschedule {second.pk}", chat=other).startswith(f"This group has no schedule #{second.pk}")
    assert len(pending(second.pk)) == 1


def test_only_admins_schedule(bot):
    assert bot.run_text(".schedule in 10m hi", chat=GROUP, sender=BOB) == "Only group admins can use this command."
    assert not ScheduledMessage.objects.exists()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (".schedule at 25:61 hi", "25:61 is not a time of day"),
        (".schedule every 1s spam", "the shortest interval is one minute"),
        (".schedule at 15:00 gone", "15:00 has already passed"),
        (".schedule " + " ".join(["*"] * 500) + " hi", "this one has 500"),
        (".schedule in 10m", "What should I send then?"),
        (".schedule in 10m " + "x" * 5000, "at most 2000 characters"),
        (".tz Mars/Olympus", "Mars/Olympus is not a time zone I know"),
        (".automute 24:00", "24:00 is not a time of day"),
        (".mute 10s", "the shortest interval is one minute"),
    ],
)
def test_bad_input_gets_one_reply_and_stores_nothing(bot, command, words):
    sent = bot.run(command, chat=GROUP)
    assert [r.kind for r in sent] == ["text"] and words in sent[0].text
    assert not ScheduledMessage.objects.exists() and not Schedule.objects.exists()


def test_a_chat_may_have_only_so_many_schedules(bot, settings):
    settings.SCHEDULE_MAX_PER_CHAT = 2
    bot.run(".schedule in 10m one", chat=GROUP)
    bot.run(".schedule in 20m two", chat=GROUP)
    assert bot.run_text(".schedule in 30m three", chat=GROUP).startswith("This chat has 2 schedules, the most")
    assert ScheduledMessage.objects.count() == 2


def test_the_chat_time_zone_moves_its_repeating_schedules(bot):
    bot.run(".schedule daily 08:00 morning", chat=GROUP)
    row = the_schedule()
    assert pending(row.pk) == [datetime(2026, 12, 4, 7, 0, tzinfo=UTC)]
    assert bot.run_text(".tz America/New_York", chat=GROUP).startswith("Time zone set to America/New_York")
    assert pending(row.pk) == [datetime(2026, 12, 4, 13, 0, tzinfo=UTC)]
    assert bot.run_text(".tz", chat=GROUP).startswith("This group's time zone is America/New_York (2026-12-03 10:00")


def test_a_timed_mute_closes_now_and_opens_through_the_outbox(bot, clock):
    sent = bot.run(".mute 30m", chat=GROUP)
    assert [(r.kind, r.action) for r in sent] == [("group", "announce"), ("text", "")]
    assert "until 16:30 Europe/Berlin" in sent[1].text
    clock.shift(timedelta(minutes=30, seconds=1))
    cluster_step(deliveries=2)
    rows = OutboxItem.objects.filter(chat=GROUP).order_by("id")
    assert [(r.kind, r.content.get("action")) for r in rows] == [("group", "unannounce"), ("text", None)]


def test_automute_and_autounmute_run_daily_in_the_chats_zone(bot, clock):
    assert bot.run_text(".automute 23:00", chat=GROUP).startswith("Every day at 23:00 Europe/Berlin I'll close")
    bot.run(".autounmute 07:00", chat=GROUP)
    bot.run(".automute 22:30", chat=GROUP)  # replaces the first
    mute, unmute = ScheduledMessage.objects.filter(active=True).order_by("kind")
    assert (mute.kind, pending(mute.pk)) == ("mute", [datetime(2026, 12, 3, 21, 30, tzinfo=UTC)])
    assert (unmute.kind, pending(unmute.pk)) == ("unmute", [datetime(2026, 12, 4, 6, 0, tzinfo=UTC)])
    clock.shift(timedelta(hours=6, minutes=30, seconds=1))
    cluster_step()
    [action] = OutboxItem.objects.filter(chat=GROUP, kind="group")
    assert action.content == {"action": "announce"}
    assert bot.run_text(".automute off", chat=GROUP) == "automute off (1 removed)."
    assert pending(mute.pk) == []


def test_a_schedule_whose_pending_row_was_lost_is_armed_again_by_the_hourly_task(bot, clock):
    bot.run(".schedule daily 16:05 hello", chat=GROUP)
    row = the_schedule()
    Schedule.objects.filter(name=q_name(row.pk)).delete()  # its task failed every attempt
    clock.shift(timedelta(hours=2))
    assert prune_task()["schedules_rearmed"] == 1
    assert pending(row.pk) == [datetime(2026, 12, 4, 15, 5, tzinfo=UTC)]
    assert prune_task()["schedules_rearmed"] == 0


@pytest.mark.django_db(transaction=True)
def test_two_clusters_running_one_occurrence_at_once_queue_it_once(settings):
    """The active worker's and the standby's workers take the same occurrence at the same moment."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer: two runs cannot overlap there")
    settings.SCHEDULE_MISSED_MAX_MINUTES = 30
    settings.SCHEDULE_MAX_PER_CHAT = 10
    parsed = parse_when("daily 08:00 morning", now=START, tz=zone_named("UTC"))
    row = scheduled_create(session_name="kit", chat=GROUP, parsed=parsed, time_zone="UTC")
    due = parsed.first.isoformat()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            outcomes.append(scheduled_message_task(schedule_id=row.pk, due=due)["outcome"])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    with time_machine.travel(parsed.first + timedelta(seconds=2), tick=False):  # the clock is global: both see it
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(outcomes) == ["duplicate", "queued"]
    assert OutboxItem.objects.filter(chat=GROUP).count() == 1
    assert Schedule.objects.filter(name=q_name(row.pk)).count() == 1


def test_an_owner_sets_the_sessions_zone_and_a_group_keeps_its_own(bot):
    owner = "15550000001@s.whatsapp.net"
    bot.run(".setvar SCHEDULE_TIME_ZONE Asia/Tokyo", chat=owner, sender=owner)
    assert bot.run_text(".tz", chat=GROUP).startswith("This group's time zone is Asia/Tokyo (2026-12-04 00:00")
    bot.run(".tz Europe/Berlin", chat=GROUP)
    assert bot.run_text(".tz", chat=GROUP).startswith("This group's time zone is Europe/Berlin")


def test_the_bot_child_arms_schedules_without_loading_django_q(subprocess_env, manage_py):
    """The child has no django_q app: its writes go through PendingOccurrence, the same table and columns."""
    fields = {f.column for f in PendingOccurrence._meta.fields}
    assert PendingOccurrence._meta.db_table == Schedule._meta.db_table
    assert fields <= {f.column for f in Schedule._meta.fields}
    subprocess_env["BLACKSKY_PROCESS"] = "bot-child"
    code = (
        "import django, sys; django.setup(); import bot.scheduled, bot.commands.schedule, bot.tasks; "
        "from bot.models import PendingOccurrence as P; "
        "print('django_q' in sys.modules, P._meta.db_table in str(P.objects.filter(name='x').query))"
    )
    result = subprocess.run(
        [manage_py[0], "-c", code], env=subprocess_env, capture_output=True, text=True, cwd=ROOT_DIR, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False True"
