"""What went wrong on a session's connection, counted: imported by the web dyno for /stats and /metrics.

Two readings of the same counts (``bot.child.counting`` names the keys): ``total``, since the worker
process started, from the heartbeat the supervisor writes into ``BotStatus.detail["counts"]`` (each
finished child's added, so it only grows while the worker runs: the Prometheus counters), and
``last_24h``, summed from the per-minute ``MessageStat.counts`` the child flushes (bounded by the
window: at most 1440 rows). The inbox depth is the child's, from its newest beat. The stale-store
alert is the supervisor's event (``undecryptable_after_restore``) recorded after the newest origin.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings

from bot.models import BotStatus, ConnectionEvent, MessageStat
from bot.reasons import (
    CALL_OUTCOMES,
    HISTORY_KINDS,
    SEND_ERROR_KINDS,
    UNDECRYPTABLE_AFTER_RESTORE,
    UNDECRYPTABLE_KINDS,
)
from bot.session_origin import ORIGIN_REASON, RESTORING_SOURCES


def _counts(raw: object) -> Counter[str]:
    counts: Counter[str] = Counter()
    if isinstance(raw, dict):
        counts.update({k: v for k, v in raw.items() if isinstance(k, str) and type(v) is int and v > 0})
    return counts


def _grouped(counts: Counter[str]) -> dict:
    """Flat keys -> the /stats shape: every known kind present (0 when none), reconnects by reason."""
    reconnects = {k.split(":", 1)[1]: n for k, n in counts.items() if k.startswith("reconnect:")}
    return {
        "undecryptable": {kind: counts[f"undecryptable:{kind}"] for kind in UNDECRYPTABLE_KINDS},
        "send_failures": {kind: counts[f"send_failure:{kind}"] for kind in SEND_ERROR_KINDS},
        "reconnects": dict(sorted(reconnects.items())),
        "keepalive_timeouts": counts["keepalive_timeout"],
        "history": {kind: counts[f"history:{kind}"] for kind in HISTORY_KINDS},
        "calls": {outcome: counts[f"call:{outcome}"] for outcome in CALL_OUTCOMES},
    }


def _last_24h(*, session_name: str, now: datetime) -> Counter[str]:
    total: Counter[str] = Counter()
    rows = MessageStat.objects.filter(
        session_name=session_name, resolution=MessageStat.Resolution.MINUTE, bucket__gte=now - timedelta(hours=24)
    ).values_list("counts", flat=True)
    for raw in rows:
        total.update(_counts(raw))
    return total


def counter_figures(*, session_name: str, status: BotStatus | None, now: datetime) -> dict:
    """The /stats ``counters`` block of one session."""
    detail = (status.detail or {}) if status else {}
    recent = _grouped(_last_24h(session_name=session_name, now=now))
    del recent["reconnects"]  # the ReconnectEvent rows say that (``reconnects.last_24h_by_reason``)
    return {
        "since": status.process_started_at.isoformat() if status and status.process_started_at else None,
        "total": _grouped(_counts(detail.get("counts"))),
        "last_24h": recent,
        "undecryptable_after_restore": after_restore(session_name=session_name, status=status),
    }


def after_restore(*, session_name: str, status: BotStatus | None) -> dict:
    """Whether the newest restore of the running worker was followed by a rise of undecryptable messages."""
    events = ConnectionEvent.objects.filter(session_name=session_name)
    if status is not None and status.process_started_at is not None:
        events = events.filter(at__gte=status.process_started_at)
    origin = events.filter(reason=ORIGIN_REASON).order_by("-at", "-id").values("at", "detail").first()
    source = str((origin["detail"] or {}).get("source", "")) if origin else ""
    alert = None
    if origin is not None:
        alert = (
            events.filter(reason=UNDECRYPTABLE_AFTER_RESTORE, at__gte=origin["at"])
            .order_by("-at", "-id")
            .values("at", "detail")
            .first()
        )
    detail = (alert["detail"] or {}) if alert else {}
    return {
        "watched": source in RESTORING_SOURCES,  # only a restored store is watched
        "restored_at": origin["at"].isoformat() if origin and source in RESTORING_SOURCES else None,
        "source": source,
        "threshold": settings.UNDECRYPTABLE_ALERT_COUNT,
        "minutes": settings.UNDECRYPTABLE_ALERT_MINUTES,
        "alert": alert is not None,
        "alerted_at": alert["at"].isoformat() if alert else None,
        "count": detail.get("count"),
    }


def inbox_figures(*, status: BotStatus | None) -> dict:
    """The child's inbox at its newest beat: messages waiting for a dispatcher, and refused since it started."""
    detail = (status.detail or {}) if status else {}
    depth, dropped = detail.get("queued"), detail.get("dropped")
    return {
        "depth": depth if type(depth) is int else None,
        "dropped": dropped if type(dropped) is int else None,
    }
