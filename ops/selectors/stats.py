"""The /stats snapshot, imported by the web dyno (gunicorn): per-session figures for /stats,
/metrics and the dashboard.

The web dyno sees the bot only through the database, so every figure here comes from rows the
worker wrote. Every query is bounded by a time window or a row limit and runs on an index
(``MessageStat``'s unique (session, resolution, bucket), the (session, -at) indexes of the event
tables, ``WebhookDelivery.at``, the reconnects tally ``ReconnectHour``), so the cost of a snapshot does not grow with history; the views
read it through the per-process cache in :mod:`ops.stats_cache`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from bot.models import (
    BotStatus,
    ConnectionEvent,
    ConnectionState,
    ControlCommand,
    MessageStat,
    ReconnectEvent,
    ReconnectHour,
    WebhookDelivery,
)
from ops.selectors.connection import connection_problem_fields, state_label
from ops.selectors.counters import counter_figures, inbox_figures
from ops.selectors.liveness import liveness_figures, phone_figures
from ops.selectors.moderation import moderation_figures
from ops.selectors.origin import session_origin
from ops.selectors.outbox import outbox_figures
from sessions_store.models import SessionBackup, SessionLease, WhatsAppSession
from sessions_store.pairing import pairing_code_current

#: Windows of the message-rate figures, in complete minutes.
RATE_WINDOWS = {"1m": 1, "5m": 5, "1h": 60}
RECENT_EVENTS = 20
TOP_COMMANDS = 10
MB = 1024 * 1024


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _age(now: datetime, value: datetime | None) -> float | None:
    return round((now - value).total_seconds(), 1) if value else None


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def session_names() -> list[str]:
    """Sessions known to the bot (status rows) or to the session store."""
    names = set(BotStatus.objects.values_list("session_name", flat=True))
    names.update(WhatsAppSession.objects.values_list("name", flat=True))
    return sorted(names)


def _minute_rows(*, session_name: str, now: datetime) -> tuple[dict, dict]:
    """The last hour of complete minutes: rate figures and a zero-filled per-minute series."""
    this_minute = now.replace(second=0, microsecond=0)
    start = this_minute - timedelta(minutes=60)
    rows = MessageStat.objects.filter(
        session_name=session_name,
        resolution=MessageStat.Resolution.MINUTE,
        bucket__gte=start,
        bucket__lt=this_minute,
    ).values_list("bucket", "messages_in", "messages_out", "rss_max_bytes")
    by_minute = {bucket: (m_in, m_out, rss) for bucket, m_in, m_out, rss in rows}
    series = {"t": [], "in": [], "out": []}
    for i in range(60):
        minute = start + timedelta(minutes=i)
        m_in, m_out, _rss = by_minute.get(minute, (0, 0, 0))
        series["t"].append(_epoch(minute))
        series["in"].append(m_in)
        series["out"].append(m_out)
    rates = {}
    for label, minutes in RATE_WINDOWS.items():
        window_in = sum(series["in"][-minutes:])
        window_out = sum(series["out"][-minutes:])
        rates[label] = {
            "messages_in": window_in,
            "messages_out": window_out,
            "in_per_minute": round(window_in / minutes, 2),
            "out_per_minute": round(window_out / minutes, 2),
        }
    return rates, series


def _hour_slots(now: datetime) -> list[datetime]:
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    return [this_hour - timedelta(hours=23 - i) for i in range(24)]


def _hourly(*, session_name: str, now: datetime) -> dict:
    """24 hourly points (the current hour last): messages, peak RSS and reconnects per hour."""
    slots = _hour_slots(now)
    start = slots[0]
    stats = (
        MessageStat.objects.filter(
            session_name=session_name, resolution=MessageStat.Resolution.MINUTE, bucket__gte=start
        )
        .annotate(hour=TruncHour("bucket"))
        .values("hour")
        .annotate(m_in=Sum("messages_in"), m_out=Sum("messages_out"), rss=Max("rss_max_bytes"))
    )
    by_hour = {row["hour"]: row for row in stats}
    reconnects_by_hour: Counter[datetime] = Counter()
    for hour, _reason, count in _reconnect_tally(session_name=session_name, since=start):
        reconnects_by_hour[hour] += count
    series: dict[str, list] = {"t": [], "in": [], "out": [], "rss_max_bytes": [], "reconnects": []}
    for hour in slots:
        row = by_hour.get(hour) or {}
        series["t"].append(_epoch(hour))
        series["in"].append(row.get("m_in") or 0)
        series["out"].append(row.get("m_out") or 0)
        series["rss_max_bytes"].append(row.get("rss") or None)  # a gap, not a zero, when no sample
        series["reconnects"].append(reconnects_by_hour.get(hour, 0))
    return series


def _trend_mb_per_hour(points: list[int | None]) -> float | None:
    """Least-squares slope of the hourly RSS peaks, in MB per hour (None with fewer than 2 points)."""
    pairs = [(x, y / MB) for x, y in enumerate(points) if y]
    if len(pairs) < 2:
        return None
    n = len(pairs)
    mean_x = sum(x for x, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    var = sum((x - mean_x) ** 2 for x, _ in pairs)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    return round(cov / var, 3) if var else None


def _memory(*, status: BotStatus | None, hourly: dict) -> dict:
    limit_mb = settings.MEMORY_LIMIT_MB
    rss = status.rss_bytes if status else 0
    peaks = [p for p in hourly["rss_max_bytes"] if p]
    return {
        "rss_bytes": rss,
        "rss_mb": round(rss / MB, 1),
        "limit_mb": limit_mb,
        "percent_of_limit": round(100 * rss / (limit_mb * MB), 1) if limit_mb else None,
        "peak_24h_bytes": max(peaks) if peaks else None,
        "trend_mb_per_hour": _trend_mb_per_hour(hourly["rss_max_bytes"]),
    }


_TOP_COMMANDS_SQL = {
    # Sums the per-minute {"command": count} objects in the database: no JSON decoding in Python.
    "postgresql": """
        SELECT kv.key, SUM(kv.value::bigint) AS n
        FROM {table} m CROSS JOIN LATERAL jsonb_each_text(m.by_command) kv
        WHERE m.session_name = %s AND m.resolution = %s AND m.bucket >= %s AND m.commands > 0
          AND jsonb_typeof(m.by_command) = 'object' AND kv.value ~ '^[0-9]{{1,18}}$'
        GROUP BY kv.key ORDER BY n DESC, kv.key LIMIT %s""",
    "sqlite": """
        SELECT j.key, SUM(j.value) AS n
        FROM {table} m, json_each(m.by_command) j
        WHERE m.session_name = %s AND m.resolution = %s AND m.bucket >= %s AND m.commands > 0
          AND json_type(m.by_command) = 'object' AND j.type = 'integer'
        GROUP BY j.key ORDER BY n DESC, j.key LIMIT %s""",
}


def _top_commands(*, session_name: str, now: datetime) -> list[dict]:
    since = now - timedelta(hours=24)
    sql = _TOP_COMMANDS_SQL.get(connection.vendor)
    if sql is not None:
        params = [
            session_name,
            MessageStat.Resolution.MINUTE,
            connection.ops.adapt_datetimefield_value(since),
            TOP_COMMANDS,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql.format(table=MessageStat._meta.db_table), params)
            return [{"name": str(name), "count": int(count)} for name, count in cursor.fetchall()]
    counter: Counter[str] = Counter()
    rows = MessageStat.objects.filter(
        session_name=session_name, resolution=MessageStat.Resolution.MINUTE, bucket__gte=since, commands__gt=0
    ).values_list("by_command", flat=True)
    for by_command in rows:
        if isinstance(by_command, dict):
            counter.update({str(k): int(v) for k, v in by_command.items() if isinstance(v, int)})
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:TOP_COMMANDS]
    return [{"name": name, "count": count} for name, count in ranked]


def _reconnect_tally(*, session_name: str, since: datetime) -> list[tuple[datetime, str, int]]:
    """(hour, reason, attempts) since an hour, from the tally the writer keeps: never the event rows."""
    rows = ReconnectHour.objects.filter(session_name=session_name, hour__gte=since)
    return list(rows.values_list("hour", "reason", "count"))


def _reconnects(*, session_name: str, now: datetime) -> dict:
    """The last attempts, and the attempts of the 24 hourly slots the series shows (the current hour last)."""
    last = list(
        ReconnectEvent.objects.filter(session_name=session_name)
        .order_by("-at")
        .values("at", "attempt", "delay_seconds", "reason", "outcome")[:RECENT_EVENTS]
    )
    by_reason: Counter[str] = Counter()
    for _hour, reason, count in _reconnect_tally(session_name=session_name, since=_hour_slots(now)[0]):
        by_reason[reason] += count
    return {
        "last_24h_total": sum(by_reason.values()),
        "last_24h_by_reason": dict(sorted(by_reason.items())),
        "last": [{**row, "at": _iso(row["at"])} for row in last],
    }


def _connection_events(*, session_name: str) -> list[dict]:
    rows = (
        ConnectionEvent.objects.filter(session_name=session_name)
        .order_by("-at")
        .values("at", "from_state", "to_state", "reason")[:RECENT_EVENTS]
    )
    return [{**row, "at": _iso(row["at"])} for row in rows]


def _backups(*, session: WhatsAppSession | None, now: datetime) -> dict:
    if session is None:
        return {"newest_verified_at": None, "newest_verified_age_seconds": None, "by_state": {}}
    # A scheduled backup of an unchanged store re-verifies the newest one (verified_at) instead of
    # writing a copy, so the age is that of the newest verification, not of the newest row.
    newest = SessionBackup.objects.filter(session=session, state=SessionBackup.State.VERIFIED).aggregate(
        at=Max(Coalesce("verified_at", "created_at"))
    )["at"]
    by_state = dict(
        SessionBackup.objects.filter(session=session)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return {
        "newest_verified_at": _iso(newest),
        "newest_verified_age_seconds": _age(now, newest),
        "by_state": dict(sorted(by_state.items())),
    }


def _lease(*, session: WhatsAppSession | None, now: datetime) -> dict | None:
    if session is None:
        return None
    lease = SessionLease.objects.filter(session=session).first()
    if lease is None:
        return None
    return {
        "holder": lease.holder,
        "held": bool(lease.holder and lease.expires_at and lease.expires_at > now),
        "fencing": lease.fencing,
        "renewed_at": _iso(lease.renewed_at),
        "expires_at": _iso(lease.expires_at),
    }


def _webhooks(*, session_name: str, now: datetime) -> dict:
    since = now - timedelta(hours=24)
    counts = WebhookDelivery.objects.filter(session_name=session_name, at__gte=since).aggregate(
        total=Count("id"), failed=Count("id", filter=Q(ok=False))
    )
    last_failure = (
        WebhookDelivery.objects.filter(session_name=session_name, ok=False, at__gte=since)
        .order_by("-at")
        .values("at", "status_code", "error")
        .first()
    )
    return {
        "deliveries_24h": counts["total"],
        "failures_24h": counts["failed"],
        "last_failure": {**last_failure, "at": _iso(last_failure["at"])} if last_failure else None,
    }


def _controls(*, session_name: str) -> list[dict]:
    rows = (
        ControlCommand.objects.filter(session_name=session_name)
        .order_by("-requested_at")
        .values("id", "action", "state", "requested_at", "finished_at", "result", "requested_by__username")[:10]
    )
    return [
        {
            "id": row["id"],
            "action": row["action"],
            "state": row["state"],
            "requested_by": row["requested_by__username"] or "",
            "requested_at": _iso(row["requested_at"]),
            "finished_at": _iso(row["finished_at"]),
            "result": row["result"][:200],
        }
        for row in rows
    ]


def _pairing(*, session: WhatsAppSession | None, now: datetime) -> dict:
    code = pairing_code_current(session_name=session.name, now=now) if session else None
    return {
        "status": session.status if session else None,
        "code_waiting": code is not None,
        "code_kind": code.kind if code else None,
        "code_expires_at": _iso(code.expires_at) if code else None,
    }


def _process_end(*, status: BotStatus, now: datetime) -> datetime:
    """Until when the bot process is known to have run: now while it beats, else its last sign of life.

    A supervisor that stopped cleared its pid (``updated_at`` is when); one that was killed stops
    beating, and its uptime ends at the last heartbeat, not at the moment someone looks.
    """
    if status.process_started_at is None:
        return now
    if status.pid is None:
        return max(status.process_started_at, status.updated_at)
    beat = status.last_heartbeat_at
    if (
        beat is not None
        and beat >= status.process_started_at
        and (now - beat).total_seconds() > settings.HEARTBEAT_TIMEOUT
    ):
        return beat
    return now


def session_stats(*, session_name: str, now: datetime | None = None) -> dict:
    """Everything /stats says about one session (see the README for the fields)."""
    now = now or timezone.now()
    status = BotStatus.objects.filter(session_name=session_name).first()
    session = WhatsAppSession.objects.filter(name=session_name).first()
    rates, minutes = _minute_rows(session_name=session_name, now=now)
    hourly = _hourly(session_name=session_name, now=now)
    heartbeat_age = _age(now, status.last_heartbeat_at) if status else None
    ran_until = _process_end(status=status, now=now) if status else now  # the uptimes stop when the process did
    connected = bool(status and status.state == ConnectionState.CONNECTED)
    return {
        "session": session_name,
        "state": status.state if status else None,
        "state_since": _iso(status.state_since) if status else None,
        "state_reason": status.reason if status else "",
        "state_label": state_label(state=status.state, reason=status.reason) if status else None,
        "connection_problem": connection_problem_fields(status=status, now=now),
        "heartbeat_at": _iso(status.last_heartbeat_at) if status else None,
        "heartbeat_age_seconds": heartbeat_age,
        "heartbeat_fresh": heartbeat_age is not None and heartbeat_age <= settings.HEARTBEAT_TIMEOUT,
        "host": status.host if status else "",
        "pid": status.pid if status else None,
        "child_pid": status.child_pid if status else None,
        "child_restarts": status.child_restarts if status else 0,
        # writes a database outage cost (buffer overflow, stats minutes dropped), from the heartbeat
        "database_writes_lost": int((status.detail or {}).get("db_lost", 0)) if status else 0,
        "process_running": bool(status and status.process_started_at and ran_until == now),
        "process_uptime_seconds": _age(ran_until, status.process_started_at) if status else None,
        "connection_uptime_seconds": _age(ran_until, status.connected_since) if connected else None,
        "messages": {
            "total_in": status.messages_in if status else 0,
            "total_out": status.messages_out if status else 0,
            "rate": rates,
        },
        "top_commands_24h": _top_commands(session_name=session_name, now=now),
        "memory": _memory(status=status, hourly=hourly),
        "reconnects": _reconnects(session_name=session_name, now=now),
        "connection_events": _connection_events(session_name=session_name),
        "backups": _backups(session=session, now=now),
        "lease": _lease(session=session, now=now),
        "webhooks": _webhooks(session_name=session_name, now=now),
        "pairing": _pairing(session=session, now=now),
        "origin": session_origin(session_name=session_name),
        "controls": _controls(session_name=session_name),
        "outbox": outbox_figures(session_name=session_name, now=now),
        "inbox": inbox_figures(status=status),
        "counters": counter_figures(session_name=session_name, status=status, now=now),
        "liveness": liveness_figures(status=status, now=now),
        "primary_phone": phone_figures(session_name=session_name, now=now),
        "moderation": moderation_figures(session_name=session_name, now=now),
        "series": {"minutes": minutes, "hours": hourly},
    }


def stats_snapshot(*, now: datetime | None = None) -> dict:
    """The whole /stats document, computed now (uncached)."""
    now = now or timezone.now()
    return {
        "generated_at": _iso(now),
        "database": connection.vendor,
        "memory_limit_mb": settings.MEMORY_LIMIT_MB,
        "heartbeat_timeout_seconds": settings.HEARTBEAT_TIMEOUT,
        "sessions": [session_stats(session_name=name, now=now) for name in session_names()],
    }
