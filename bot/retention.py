"""Retention: what the database keeps, so a bot that runs for a year stays as cheap as on day one.

- Connection and reconnect events older than ``EVENT_RETENTION_DAYS`` are deleted, and so are
  finished outbox items and handled message ids (``bot.outbox.outbox_prune``; queued items
  are never pruned).
- Per-minute ``MessageStat`` rows are rolled up into hourly rows after 48 hours; hourly rows are
  deleted after 30 days.
- Messages kept for anti-delete and anti-edit (``bot.message_cache``) older than ``ANTIDELETE_TTL_HOURS``.
- Moderation log rows older than 90 days (``/stats`` summarises the last 24 hours).
- Failed and corrupt backups older than a day, expired pairing codes, and django-q2 task rows
  beyond its ``save_limit`` (failures older than the retention too) are removed, and anti-call
  rows of callers not heard from for a day.

Every function returns counts so ``manage.py prune`` and the scheduled task can report them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bot.made_media import made_media_prune
from bot.message_cache import message_cache_prune
from bot.models import (
    CallNotice,
    ConnectionEvent,
    MemberActivity,
    MessageStat,
    ModerationLog,
    ReconnectEvent,
    ReconnectHour,
)
from bot.outbox import outbox_prune

MINUTE_ROWS_KEPT = timedelta(hours=48)
HOUR_ROWS_KEPT = timedelta(days=30)
FAILED_BACKUPS_KEPT = timedelta(days=1)
MODERATION_LOG_KEPT = timedelta(days=90)
ACTIVITY_DAYS_KEPT = 120  # longer than the longest `.inactive` window (90 days)


def events_prune(*, now: datetime, days: int) -> dict[str, int]:
    cutoff = now - timedelta(days=days)
    connection, _ = ConnectionEvent.objects.filter(at__lt=cutoff).delete()
    reconnect, _ = ReconnectEvent.objects.filter(at__lt=cutoff).delete()
    hours, _ = ReconnectHour.objects.filter(hour__lt=cutoff).delete()
    return {"connection_events": connection, "reconnect_events": reconnect, "reconnect_hours": hours}


def activity_prune(*, today: date) -> dict[str, int]:
    """Members' day counts older than the longest window any command reads."""
    removed, _ = MemberActivity.objects.filter(day__lt=today - timedelta(days=ACTIVITY_DAYS_KEPT)).delete()
    return {"member_activity": removed}


def stats_rollup(*, now: datetime) -> dict[str, int]:
    """Fold minute rows older than 48 h into hourly rows (adding to any existing hour row)."""
    cutoff = now - MINUTE_ROWS_KEPT
    old = MessageStat.objects.filter(resolution=MessageStat.Resolution.MINUTE, bucket__lt=cutoff)
    hours: dict[tuple[str, datetime], dict] = defaultdict(
        lambda: {
            "messages_in": 0,
            "messages_out": 0,
            "commands": 0,
            "errors": 0,
            "rss": 0,
            "by": Counter(),
            "counts": Counter(),
        }
    )
    ids: list[int] = []
    for row in old.iterator(chunk_size=2000):
        key = (row.session_name, row.bucket.replace(minute=0, second=0, microsecond=0))
        agg = hours[key]
        agg["messages_in"] += row.messages_in
        agg["messages_out"] += row.messages_out
        agg["commands"] += row.commands
        agg["errors"] += row.errors
        agg["rss"] = max(agg["rss"], row.rss_max_bytes)
        agg["by"].update(row.by_command or {})
        agg["counts"].update(row.counts or {})
        ids.append(row.pk)
    with transaction.atomic():
        for (session_name, hour), agg in hours.items():
            stat, _ = MessageStat.objects.select_for_update().get_or_create(
                session_name=session_name, resolution=MessageStat.Resolution.HOUR, bucket=hour
            )
            stat.messages_in += agg["messages_in"]
            stat.messages_out += agg["messages_out"]
            stat.commands += agg["commands"]
            stat.errors += agg["errors"]
            stat.rss_max_bytes = max(stat.rss_max_bytes, agg["rss"])
            stat.by_command = dict(Counter(stat.by_command or {}) + agg["by"])
            stat.counts = dict(Counter(stat.counts or {}) + agg["counts"])
            stat.save()
        deleted = 0
        for start in range(0, len(ids), 500):
            deleted += MessageStat.objects.filter(pk__in=ids[start : start + 500]).delete()[0]
    expired, _ = MessageStat.objects.filter(
        resolution=MessageStat.Resolution.HOUR, bucket__lt=now - HOUR_ROWS_KEPT
    ).delete()
    return {"minute_rows_rolled_up": deleted, "hour_rows_written": len(hours), "hour_rows_deleted": expired}


def moderation_log_prune(*, now: datetime) -> dict[str, int]:
    deleted, _ = ModerationLog.objects.filter(at__lt=now - MODERATION_LOG_KEPT).delete()
    return {"moderation_log": deleted}


def backups_prune_failed(*, now: datetime) -> dict[str, int]:
    from sessions_store.models import SessionBackup

    states = [SessionBackup.State.FAILED, SessionBackup.State.CORRUPT]
    deleted, _ = SessionBackup.objects.filter(state__in=states, created_at__lt=now - FAILED_BACKUPS_KEPT).delete()
    return {"failed_backups": deleted}


def pairing_codes_prune(*, now: datetime) -> dict[str, int]:
    from sessions_store.models import PairingCode

    deleted, _ = PairingCode.objects.filter(expires_at__lt=now).delete()
    return {"pairing_codes": deleted}


def queue_results_prune(*, now: datetime, days: int) -> dict[str, int]:
    """django-q2 bounds successes with save_limit itself; failed task rows are kept ``days`` days."""
    from django_q.models import Task

    deleted, _ = Task.objects.filter(success=False, stopped__lt=now - timedelta(days=days)).delete()
    limit = settings.Q_CLUSTER.get("save_limit", 250)
    keep = list(Task.objects.filter(success=True).order_by("-stopped").values_list("pk", flat=True)[:limit])
    over, _ = Task.objects.filter(success=True).exclude(pk__in=keep).delete() if limit > 0 else (0, None)
    return {"queue_failures": deleted, "queue_successes_over_limit": over}


def media_prune() -> dict[str, int]:
    """Rendition files no GifAsset points at any more, and stale disk-cache copies."""
    from media_cdn.pipeline import media_files_prune

    result = media_files_prune()
    return {"media_files": result["removed_files"], "media_bytes": result["removed_bytes"]}


def call_notices_prune(*, now: datetime) -> dict[str, int]:
    """Callers not heard from for a day: their anti-call rows go (an hour's memory is all a row is for)."""
    deleted, _ = CallNotice.objects.filter(last_call_at__lt=now - timedelta(days=1)).delete()
    return {"call_notices": deleted}


def prune_all(*, now: datetime | None = None) -> dict[str, int]:
    """Everything above, in one pass; returns what each step removed."""
    now = now or timezone.now()
    summary: dict[str, int] = {}
    summary.update(events_prune(now=now, days=settings.EVENT_RETENTION_DAYS))
    summary.update(outbox_prune(now=now, days=settings.EVENT_RETENTION_DAYS))
    summary.update(stats_rollup(now=now))
    summary.update(message_cache_prune(now=now, hours=settings.ANTIDELETE_TTL_HOURS))
    summary.update(moderation_log_prune(now=now))
    summary.update(activity_prune(today=timezone.localdate(now)))
    summary.update(backups_prune_failed(now=now))
    summary.update(pairing_codes_prune(now=now))
    summary.update(queue_results_prune(now=now, days=settings.EVENT_RETENTION_DAYS))
    summary.update(media_prune())
    summary.update(made_media_prune(now=now))
    summary.update(call_notices_prune(now=now))
    return summary


def format_summary(summary: dict[str, int]) -> str:
    return ", ".join(f"{key}={value}" for key, value in summary.items())
