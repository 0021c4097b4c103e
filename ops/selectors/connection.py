"""What is wrong with a session's connection, in the operator's words: imported by the web dyno (gunicorn).

/healthz, /pair/, /stats and the dashboard all show this one reading, taken from the rows the bot
child writes (its ``BotStatus`` and its latest ``ReconnectEvent``), so the pages agree with each
other and with the worker's log ("cannot reach WhatsApp (<error>), retrying in N s").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from bot.models import BotStatus, ConnectionEvent, ConnectionState, ReconnectEvent
from bot.reasons import REASON_LABELS, WHATSAPP_UNREACHABLE


@dataclass(frozen=True)
class ConnectionProblem:
    label: str  # "cannot reach WhatsApp"
    error: str  # the last error as the transport reported it
    failed_at: datetime  # when that attempt failed
    next_try_at: datetime | None  # when the bot dials again, if it said so and that is still ahead


def connection_problem(*, status: BotStatus | None, now: datetime | None = None) -> ConnectionProblem | None:
    """The newest failed dial of the running worker while the bot is not connected, else ``None``.

    Between a child giving up and its fresh successor dialling, the state reads starting or
    restoring; the last dial of this worker process (never one from before it started, nor one
    before the last successful connection) still tells the truth about WhatsApp, so it is shown.
    """
    if status is None or status.state == ConnectionState.CONNECTED:
        return None
    now = now or timezone.now()
    attempts = ReconnectEvent.objects.filter(session_name=status.session_name, reason=WHATSAPP_UNREACHABLE)
    if status.process_started_at is not None:
        attempts = attempts.filter(at__gte=status.process_started_at)
    last_connected = (
        ConnectionEvent.objects.filter(session_name=status.session_name, to_state=ConnectionState.CONNECTED)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_connected is not None:
        attempts = attempts.filter(at__gt=last_connected)
    attempt = attempts.order_by("-at").values("at", "delay_seconds", "detail").first()
    if attempt is None:
        return None
    next_try = attempt["at"] + timedelta(seconds=attempt["delay_seconds"])
    live = status.state == ConnectionState.RECONNECTING and status.reason == WHATSAPP_UNREACHABLE
    return ConnectionProblem(
        label=REASON_LABELS[WHATSAPP_UNREACHABLE],
        error=str((attempt["detail"] or {}).get("error", ""))[:300],
        failed_at=attempt["at"],
        next_try_at=next_try if live and next_try > now else None,
    )


def state_label(*, state: str, reason: str) -> str:
    """``reconnecting (cannot reach WhatsApp)``: the state and its reason in words."""
    words = REASON_LABELS.get(reason, reason)
    return f"{state} ({words})" if words else state


def connection_problem_fields(*, status: BotStatus | None, now: datetime) -> dict | None:
    """:func:`connection_problem` as the JSON ``/stats`` serves (times in ISO 8601)."""
    problem = connection_problem(status=status, now=now)
    if problem is None:
        return None
    return {
        "label": problem.label,
        "error": problem.error,
        "failed_at": problem.failed_at.isoformat(),
        "next_try_at": problem.next_try_at.isoformat() if problem.next_try_at else None,
    }
