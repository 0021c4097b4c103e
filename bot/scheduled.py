"""Scheduled messages and timed mutes: every write to them (create, cancel, time zone) and the run of one
occurrence. Imported by the bot child (the commands) and by the worker's django-q2 task (``bot.tasks``).

Each pending occurrence is one django-q2 ``Schedule`` row of type once (``bot.scheduled.<id>``, the
occurrence time passed as ``due``; written through ``PendingOccurrence``, since the child never loads
django_q), so the worker's cluster fires it after any restart. The task
writes the occurrence's ``ScheduleOccurrence`` row (unique per schedule and time) and its outbox rows
in one transaction, then arms the next occurrence: a second run of the same occurrence (a standby's
cluster, django-q2's retry) finds the row and writes nothing. The child's sender lanes send the rows
with the usual pacing. An occurrence found more than ``SCHEDULE_MISSED_MAX_MINUTES`` late (the bot was
down) is recorded as skipped; of several missed in a row, only the newest is sent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _

from bot import runtime_settings
from bot.models import ChatLanguage, ChatTimeZone, PendingOccurrence, ScheduledMessage, ScheduleOccurrence
from bot.outbox import outbox_enqueue
from bot.schedule_rules import Parsed, Rule, WhenError, zone_named

if TYPE_CHECKING:
    from bot.transport.base import Reply

logger = logging.getLogger(__name__)

TASK = "bot.tasks.scheduled_message_task"
MISSED_SCANNED = 50_000  # occurrences counted after a long outage (a minute cron for a month)
ORPHAN_GRACE = timedelta(hours=1)  # longer than django-q2's retries of one task (3 x 360 s)
Kind = ScheduledMessage.Kind


class ScheduleRefused(ValueError):
    """A schedule that may not be stored; ``str()`` is the translated sentence for the chat."""


def q_name(schedule_id: int) -> str:
    return f"bot.scheduled.{schedule_id}"


def zone_of(row: ScheduledMessage) -> ZoneInfo:
    try:
        return zone_named(row.time_zone)
    except WhenError:
        return ZoneInfo("UTC")


# -- time zones ----------------------------------------------------------------------------------------------
def chat_time_zone(*, session_name: str, chat: str) -> str:
    """The chat's own zone, else the session's ``SCHEDULE_TIME_ZONE`` (``.setvar``, else the environment)."""
    row = ChatTimeZone.objects.filter(session_name=session_name, chat=chat).first()
    return row.time_zone if row else runtime_settings.runtime_value("SCHEDULE_TIME_ZONE", session=session_name)


def chat_time_zone_set(*, session_name: str, chat: str, name: str, now: datetime) -> int:
    """Store the chat's zone (checked: ``WhenError`` for an unknown one) and move its repeating
    schedules to it; returns how many were moved."""
    tz = zone_named(name)
    with transaction.atomic():
        ChatTimeZone.objects.update_or_create(session_name=session_name, chat=chat, defaults={"time_zone": tz.key})
        moved = 0
        for row in ScheduledMessage.objects.select_for_update().filter(
            session_name=session_name, chat=chat, active=True
        ):
            rule = Rule.from_json(row.rule)
            if not rule.repeats:
                continue
            row.time_zone = tz.key
            row.next_run = rule.next_after(now, tz)
            row.save(update_fields=["time_zone", "next_run"])
            _arm(row.pk, row.next_run)
            moved += 1
    return moved


# -- the commands' writes --------------------------------------------------------------------------------------
def scheduled_create(
    *,
    session_name: str,
    chat: str,
    parsed: Parsed,
    time_zone: str,
    kind: str = Kind.MESSAGE,
    created_by: str = "",
) -> ScheduledMessage:
    """Store a checked schedule and arm its first occurrence; ``ScheduleRefused`` past the chat's cap."""
    limit = settings.SCHEDULE_MAX_PER_CHAT
    with transaction.atomic():
        active = ScheduledMessage.objects.filter(session_name=session_name, chat=chat, active=True).count()
        if active >= limit:
            raise ScheduleRefused(
                _("This chat has %(count)d schedules, the most it may have. Remove one with .unschedule ID first.")
                % {"count": active}
            )
        row = ScheduledMessage.objects.create(
            session_name=session_name,
            chat=chat,
            kind=kind,
            rule=parsed.rule.to_json(),
            text=parsed.text,
            time_zone=time_zone,
            created_by=created_by,
            next_run=parsed.first,
        )
        _arm(row.pk, parsed.first)
    return row


def scheduled_cancel(*, session_name: str, chat: str, schedule_id: int) -> bool:
    """Stop one of this chat's schedules (its history stays); False when the chat has no such schedule."""
    with transaction.atomic():
        done = ScheduledMessage.objects.filter(
            pk=schedule_id, session_name=session_name, chat=chat, active=True
        ).update(active=False, next_run=None)
        if done:
            _arm(schedule_id, None)
    return bool(done)


def scheduled_cancel_kind(*, session_name: str, chat: str, kind: str, repeating: bool) -> int:
    """Stop this chat's repeating (automute) or one-off mutes of ``kind``; returns how many."""
    rows = ScheduledMessage.objects.filter(session_name=session_name, chat=chat, kind=kind, active=True)
    stopped = 0
    for row in rows:
        if Rule.from_json(row.rule).repeats == repeating:
            stopped += scheduled_cancel(session_name=session_name, chat=chat, schedule_id=row.pk)
    return stopped


def scheduled_list(*, session_name: str, chat: str) -> list[ScheduledMessage]:
    return list(ScheduledMessage.objects.filter(session_name=session_name, chat=chat, active=True).order_by("id"))


def _arm(schedule_id: int, next_run: datetime | None) -> None:
    """Leave exactly one pending django-q2 schedule for this row (none when ``next_run`` is None)."""
    PendingOccurrence.objects.filter(name=q_name(schedule_id)).delete()
    if next_run is not None:
        PendingOccurrence.objects.create(
            name=q_name(schedule_id),
            func=TASK,
            kwargs=f"schedule_id={schedule_id}",
            schedule_type=PendingOccurrence.ONCE,
            repeats=-1,  # django-q2 deletes a fired once-schedule; the task arms the next
            next_run=next_run,
            intended_date_kwarg="due",
        )


# -- the worker's task ---------------------------------------------------------------------------------------------
def occurrence_replies(row: ScheduledMessage) -> list[Reply]:
    """What one occurrence puts in the outbox: the message, or the group switch and its notice."""
    from bot.transport.base import Reply  # the web loads this module (the admin's stop action), never the seam

    if row.kind == Kind.MUTE:
        notice = row.text or _("Group closed: only admins can send messages now.")
        return [Reply(kind="group", chat=row.chat, action="announce"), Reply(kind="text", chat=row.chat, text=notice)]
    if row.kind == Kind.UNMUTE:
        notice = row.text or _("Group open: everyone can send messages again.")
        return [Reply(kind="group", chat=row.chat, action="unannounce"), Reply(kind="text", chat=row.chat, text=notice)]
    return [Reply(kind="text", chat=row.chat, text=row.text)]


def chat_language(row: ScheduledMessage) -> str:
    """The language the chat chose (``.lang``), else the session's ``BOT_LANG``: the notices speak it."""
    chosen = ChatLanguage.objects.filter(session_name=row.session_name, chat=row.chat).values_list(
        "language", flat=True
    )
    return chosen.first() or runtime_settings.runtime_value("BOT_LANG", session=row.session_name)


def missed_occurrences(rule: Rule, *, due: datetime, now: datetime, tz: ZoneInfo) -> tuple[datetime, int]:
    """The newest occurrence at or before ``now`` starting from ``due``, and how many came before it."""
    newest, before = due, 0
    while before < MISSED_SCANNED:
        following = rule.next_after(newest, tz)
        if following is None or following > now:
            break
        newest, before = following, before + 1
    return newest, before


def scheduled_run(*, schedule_id: int, due: datetime, now: datetime) -> dict:
    """Carry out the occurrence ``due`` of one schedule, once: queue it (or record it skipped) and arm
    the next. Returns what happened (``outcome``: queued, skipped, duplicate or gone)."""
    limit = timedelta(minutes=settings.SCHEDULE_MISSED_MAX_MINUTES)
    due = due.astimezone(UTC)
    with transaction.atomic():
        row = ScheduledMessage.objects.select_for_update().filter(pk=schedule_id).first()
        if row is None or not row.active:
            return {"outcome": "gone", "schedule": schedule_id}
        if ScheduleOccurrence.objects.filter(schedule=row, due_at=due).exists():
            return {"outcome": "duplicate", "schedule": schedule_id}
        rule, tz = Rule.from_json(row.rule), zone_of(row)
        newest, earlier = missed_occurrences(rule, due=due, now=now, tz=tz)
        late = max(timedelta(0), now - newest)
        send = late <= limit
        skipped = earlier + (0 if send else 1)
        try:
            with transaction.atomic():
                ScheduleOccurrence.objects.create(
                    schedule=row,
                    due_at=due,
                    outcome=ScheduleOccurrence.Outcome.QUEUED if send else ScheduleOccurrence.Outcome.SKIPPED,
                    sent_for=newest if send else None,
                    skipped=skipped,
                    late_seconds=int(late.total_seconds()),
                    at=now,
                )
        except IntegrityError:
            return {"outcome": "duplicate", "schedule": schedule_id}
        if send:
            key = f"schedule:{row.pk}:{newest:%Y%m%dT%H%M%S}"
            with translation.override(chat_language(row)):
                replies = occurrence_replies(row)
            outbox_enqueue(session_name=row.session_name, replies=replies, answers=key, now=now)
        following = rule.next_after(max(newest, now), tz)
        ScheduledMessage.objects.filter(pk=row.pk).update(
            sent_count=F("sent_count") + int(send),
            skipped_count=F("skipped_count") + skipped,
            next_run=following,
            active=following is not None,
        )
        _arm(row.pk, following)
    outcome = "queued" if send else "skipped"
    logger.info(
        "scheduled occurrence",
        extra={
            "schedule": row.pk,
            "session": row.session_name,
            "outcome": outcome,
            "late_s": int(late.total_seconds()),
            "skipped": skipped,
        },
    )
    return {"outcome": outcome, "schedule": row.pk, "skipped": skipped, "late_seconds": int(late.total_seconds())}


def scheduled_rearm_orphans(*, now: datetime) -> int:
    """Arm again the active schedules whose pending django-q2 row is gone while their occurrence is long
    past (its task failed every attempt, or an operator deleted the row): the next occurrence after
    ``now``. Run by the hourly retention task; returns how many were armed."""
    pending = set(PendingOccurrence.objects.filter(name__startswith="bot.scheduled.").values_list("name", flat=True))
    armed = 0
    for row in ScheduledMessage.objects.filter(active=True, next_run__lt=now - ORPHAN_GRACE):
        if q_name(row.pk) in pending:
            continue
        with transaction.atomic():
            following = Rule.from_json(row.rule).next_after(now, zone_of(row))
            ScheduledMessage.objects.filter(pk=row.pk).update(next_run=following, active=following is not None)
            _arm(row.pk, following)
        logger.warning("scheduled message re-armed", extra={"schedule": row.pk, "next_run": str(following)})
        armed += 1
    return armed
