"""Writes of the bot runtime: connection history, reconnect attempts and the live ``BotStatus`` row.

The child records what its state machine decides; the supervisor records its own lifecycle steps
(restore, restarts, stop) and the heartbeats it receives. Both go through these functions so the
``BotStatus`` row always agrees with the newest ``ConnectionEvent``.
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bot.models import BotStatus, ConnectionEvent, ConnectionState, ReconnectEvent

logger = logging.getLogger(__name__)


def _status(session_name: str) -> BotStatus:
    status, _ = BotStatus.objects.get_or_create(session_name=session_name)
    return status


def connection_event_record(
    *,
    session_name: str,
    from_state: str,
    to_state: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ConnectionEvent:
    """One transition: a ``ConnectionEvent`` row plus the matching ``BotStatus`` state."""
    at = at or timezone.now()
    with transaction.atomic():
        event = ConnectionEvent.objects.create(
            session_name=session_name,
            at=at,
            from_state=str(from_state),
            to_state=str(to_state),
            reason=reason[:64],
            detail=detail or {},
        )
        _status(session_name)
        fields: dict[str, Any] = {"state": str(to_state), "state_since": at, "reason": reason[:64]}
        if str(to_state) == ConnectionState.CONNECTED:
            if str(from_state) != ConnectionState.CONNECTED:
                fields["connected_since"] = at
        else:
            fields["connected_since"] = None
        BotStatus.objects.filter(session_name=session_name).update(**fields, updated_at=timezone.now())
    logger.info(
        "connection state",
        extra={"session": session_name, "from": str(from_state), "to": str(to_state), "reason": reason},
    )
    return event


def transition_record(
    *,
    session_name: str,
    from_state: str,
    to_state: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    webhooks: Any = None,
) -> ConnectionEvent:
    """A state transition as operators see it: the event row and status, then the webhook (if any).

    The one place both the supervisor and the child record a transition, so the webhook can never
    tell a story the events table does not.
    """
    event = connection_event_record(
        session_name=session_name, from_state=from_state, to_state=to_state, reason=reason, detail=detail
    )
    if webhooks is not None:
        webhooks.notify(
            session_name=session_name, from_state=str(from_state), to_state=str(to_state), reason=reason, at=event.at
        )
    return event


def reconnect_event_open(
    *,
    session_name: str,
    attempt: int,
    delay_seconds: float,
    reason: str,
    detail: dict[str, Any] | None = None,
) -> ReconnectEvent:
    """A reconnect attempt starts (outcome pending until it is closed)."""
    event = ReconnectEvent.objects.create(
        session_name=session_name,
        attempt=attempt,
        delay_seconds=round(float(delay_seconds), 3),
        reason=reason[:64],
        detail=detail or {},
    )
    logger.info(
        "reconnect attempt",
        extra={"session": session_name, "attempt": attempt, "delay": round(delay_seconds, 3), "reason": reason},
    )
    return event


def reconnect_event_close(*, event_id: int, outcome: str) -> None:
    """Set the outcome (succeeded, failed, gave_up) of an attempt that is still pending."""
    ReconnectEvent.objects.filter(pk=event_id, outcome=ReconnectEvent.Outcome.PENDING).update(outcome=outcome)


def bot_status_process_started(*, session_name: str, pid: int, at: datetime | None = None) -> None:
    """The supervisor came up: who and where, counters of the previous process kept."""
    at = at or timezone.now()
    _status(session_name)
    BotStatus.objects.filter(session_name=session_name).update(
        pid=pid, host=socket.gethostname()[:128], process_started_at=at, child_pid=None, updated_at=at
    )


def bot_status_child_started(*, session_name: str, child_pid: int, restarted: bool) -> None:
    _status(session_name)
    update: dict[str, Any] = {"child_pid": child_pid, "updated_at": timezone.now()}
    if restarted:
        update["child_restarts"] = F("child_restarts") + 1
    BotStatus.objects.filter(session_name=session_name).update(**update)


def bot_status_heartbeat(
    *,
    session_name: str,
    at: datetime,
    child_pid: int | None,
    rss_bytes: int,
    messages_in: int,
    messages_out: int,
    detail: dict[str, Any] | None = None,
) -> None:
    """A heartbeat from the child, as received by the supervisor (written every few seconds)."""
    _status(session_name)
    BotStatus.objects.filter(session_name=session_name).update(
        last_heartbeat_at=at,
        child_pid=child_pid,
        rss_bytes=rss_bytes,
        messages_in=messages_in,
        messages_out=messages_out,
        detail=detail or {},
        updated_at=timezone.now(),
    )


def bot_status_stopped(*, session_name: str) -> None:
    """The supervisor exited: no pid, and ``updated_at`` is when (the uptime figures stop there)."""
    BotStatus.objects.filter(session_name=session_name).update(pid=None, child_pid=None, updated_at=timezone.now())
