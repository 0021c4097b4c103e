"""What the web says about liveness: does the connected bot still hear WhatsApp, and when was the
primary phone last seen. Read from the heartbeat's detail (ages at the beat, plus the beat's own age:
no comparison of two machines' clocks) and the PhoneWatch row."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from bot.models import BotStatus, ConnectionState, PhoneWatch
from bot.phone_watch import DAY, UNLINK_DAYS, phone_age_seconds


def _plus(base: float | None, ago: object) -> float | None:
    if base is None or not isinstance(ago, int | float):
        return None
    return round(base + float(ago), 1)


def liveness_figures(*, status: BotStatus | None, now: datetime) -> dict:
    """The /stats ``liveness`` block of one session."""
    detail = (status.detail or {}) if status else {}
    beat_age = (now - status.last_heartbeat_at).total_seconds() if status and status.last_heartbeat_at else None
    watched = "liveness_sent" in detail
    figures = {
        "watched": watched,  # False: a transport without a round trip (console) or no heartbeat yet
        "last_ok_age_seconds": _plus(beat_age, detail.get("liveness_ok_ago")),
        "unanswered_in_a_row": int(detail.get("liveness_failures") or 0),
        "sent": int(detail.get("liveness_sent") or 0),
        "answered": int(detail.get("liveness_answered") or 0),
        "unanswered": int(detail.get("liveness_unanswered") or 0),
        "round_trip_ms": detail.get("liveness_rtt_ms"),
        "last_inbound_age_seconds": _plus(beat_age, detail.get("inbound_ago")),
        "last_message_age_seconds": _plus(beat_age, detail.get("message_ago")),
    }
    figures["problem"] = liveness_problem(status=status, figures=figures, now=now)
    return figures


def liveness_stale_after() -> float:
    """Seconds without an answer after which a connected bot counts as not hearing WhatsApp."""
    return settings.LIVENESS_INTERVAL * 60.0 + settings.LIVENESS_FAILURES * settings.LIVENESS_TIMEOUT + 60.0


def liveness_problem(*, status: BotStatus | None, figures: dict, now: datetime) -> str:
    """'' when fine; else what /healthz and the dashboard say (in words, no raw error)."""
    if not figures["watched"] or status is None or status.state != ConnectionState.CONNECTED:
        return ""
    if figures["unanswered_in_a_row"] >= settings.LIVENESS_FAILURES:
        return f"connected but WhatsApp does not answer ({figures['unanswered_in_a_row']} round trips unanswered)"
    limit = liveness_stale_after()
    age = figures["last_ok_age_seconds"]
    if age is None:
        connected_for = (now - status.connected_since).total_seconds() if status.connected_since else 0.0
        age = connected_for if connected_for > limit else None
    if age is not None and age > limit:
        return f"no answer from WhatsApp for {int(age)}s (limit {int(limit)}s)"
    return ""


def phone_figures(*, session_name: str, now: datetime) -> dict:
    """The /stats ``primary_phone`` block: its age and the unlink warnings already sent."""
    watch = PhoneWatch.objects.filter(session_name=session_name).first()
    age = phone_age_seconds(watch, now=now)
    return {
        "last_seen_age_seconds": round(age, 1) if age is not None else None,
        "last_seen_how": watch.last_seen_how if watch else "",
        "ever_seen": bool(watch and watch.last_seen_at),
        "warned_days": watch.warned_days if watch else 0,
        "unlink_in_days": round(max(0.0, UNLINK_DAYS - age / DAY), 1) if age is not None else None,
    }
