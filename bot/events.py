"""Writes of the bot runtime: connection history, reconnect attempts and the live ``BotStatus`` row.

The child records what its state machine decides; the supervisor records its own lifecycle steps
(restore, restarts, stop) and the heartbeats it receives. Both go through these functions so the
``BotStatus`` row always agrees with the newest ``ConnectionEvent``.

During a database outage the event writes wait in this process's :mod:`bot.db_buffer` and are
written, in order and with the time they happened, when it is back; the functions then return the
unsaved row (its ``at`` and fields set; its ``pk`` once written). Status samples (heartbeats) are not
kept: the next one replaces them.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bot.db_buffer import write_buffer
from bot.models import BotStatus, ConnectionEvent, ConnectionState, ReconnectEvent, ReconnectHour
from sessions_store.lease import StaleFencing, lease_fence_check

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
    fencing: int | None = None,
) -> ConnectionEvent:
    """One transition: a ``ConnectionEvent`` row plus the matching ``BotStatus`` state.

    Written through the outage buffer (at once while the database answers). With ``fencing`` (the
    writer's lease number) a writer whose lease moved on by the time the row is written is *stale*:
    its event is kept as history (``detail.stale_fencing``: what that process did, and when) but the
    live status is left to the new owner, whom a paused holder waking up must never overwrite.
    """
    event = ConnectionEvent(
        session_name=session_name,
        at=at or timezone.now(),
        from_state=str(from_state),
        to_state=str(to_state),
        reason=reason[:64],
        detail=dict(detail or {}),
    )
    logger.info(
        "connection state",
        extra={"session": session_name, "from": str(from_state), "to": str(to_state), "reason": reason},
    )
    write_buffer().submit("connection_event", lambda: _connection_event_write(event, fencing=fencing))
    return event


def _connection_event_write(event: ConnectionEvent, *, fencing: int | None = None) -> None:
    at = event.at
    with transaction.atomic():
        if fencing is not None:
            try:
                lease_fence_check(session_name=event.session_name, fencing=fencing)
            except StaleFencing:
                event.detail["stale_fencing"] = fencing
                event.save(force_insert=True)
                logger.warning(
                    "stale writer: the status is left to the lease's new owner",
                    extra={"session": event.session_name, "to": event.to_state, "fencing": fencing},
                )
                return
        event.save(force_insert=True)
        _status(event.session_name)
        fields: dict[str, Any] = {"state": event.to_state, "state_since": at, "reason": event.reason}
        if event.to_state == ConnectionState.CONNECTED:
            if event.from_state != ConnectionState.CONNECTED:
                fields["connected_since"] = at
        else:
            fields["connected_since"] = None
        BotStatus.objects.filter(session_name=event.session_name).update(**fields, updated_at=timezone.now())


def transition_record(
    *,
    session_name: str,
    from_state: str,
    to_state: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    webhooks: Any = None,
    fencing: int | None = None,
) -> ConnectionEvent:
    """A state transition as operators see it: the event row and status, then the webhook (if any).

    The one place both the supervisor and the child record a transition, so the webhook can never
    tell a story the events table does not.
    """
    event = connection_event_record(
        session_name=session_name,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=detail,
        fencing=fencing,
    )
    if webhooks is not None and "stale_fencing" not in event.detail:  # the new owner tells the story now
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
    """A reconnect attempt starts (outcome pending until it is closed); keep the row to close it."""
    event = ReconnectEvent(
        session_name=session_name,
        at=timezone.now(),
        attempt=attempt,
        delay_seconds=round(float(delay_seconds), 3),
        reason=reason[:64],
        detail=detail or {},
    )
    write_buffer().submit("reconnect_event", lambda: _reconnect_event_save(event))
    logger.info(
        "reconnect attempt",
        extra={"session": session_name, "attempt": attempt, "delay": round(delay_seconds, 3), "reason": reason},
    )
    return event


def _reconnect_event_save(event: ReconnectEvent) -> None:
    with transaction.atomic():
        event.save(force_insert=True)
        reconnect_hours_add([event])


def reconnect_hours_add(events: Iterable[ReconnectEvent]) -> None:
    """Add attempts to their hours' tally (``ReconnectHour``), which /stats reads instead of the rows.

    Called in the transaction that writes the attempts, so the tally and the rows never disagree.
    """
    tally: Counter[tuple[str, datetime, str]] = Counter(
        (e.session_name, e.at.replace(minute=0, second=0, microsecond=0), e.reason) for e in events
    )
    for (session_name, hour, reason), n in tally.items():
        key = {"session_name": session_name, "hour": hour, "reason": reason}
        if ReconnectHour.objects.filter(**key).update(count=F("count") + n):
            continue
        try:
            with transaction.atomic():  # a savepoint: another writer may create the hour first
                ReconnectHour.objects.create(**key, count=n)
        except IntegrityError:
            ReconnectHour.objects.filter(**key).update(count=F("count") + n)


def reconnect_event_close(*, outcome: str, event: ReconnectEvent | None = None, event_id: int | None = None) -> None:
    """Set the outcome (succeeded, failed, gave_up) of an attempt that is still pending.

    Pass the row ``reconnect_event_open`` returned: when its write still waits for the database, the
    close waits behind it and finds its id then.
    """

    def close() -> None:
        pk = event.pk if event is not None else event_id
        if pk is not None:
            ReconnectEvent.objects.filter(pk=pk, outcome=ReconnectEvent.Outcome.PENDING).update(outcome=outcome)

    write_buffer().submit("reconnect_close", close)


def reconnect_events_close_left(*, session_name: str, reason: str, child_pid: int | None = None) -> int:
    """Close the attempts a process that is gone left pending (killed, or ended mid-attempt).

    With ``child_pid``, only that child's (its rows carry its pid); else every pending row of the
    session (at start-up, when no other process of ours can own them). Returns how many.
    """
    rows = ReconnectEvent.objects.filter(session_name=session_name, outcome=ReconnectEvent.Outcome.PENDING)
    if child_pid is not None:
        rows = rows.filter(detail__pid=child_pid)
    closed = 0
    for row in rows.only("pk", "detail"):
        closed += ReconnectEvent.objects.filter(pk=row.pk, outcome=ReconnectEvent.Outcome.PENDING).update(
            outcome=ReconnectEvent.Outcome.GAVE_UP, detail={**(row.detail or {}), "closed_because": reason}
        )
    if closed:
        logger.info(
            "pending reconnect attempts closed", extra={"session": session_name, "closed": closed, "reason": reason}
        )
    return closed


def bot_status_process_started(*, session_name: str, pid: int, at: datetime | None = None) -> None:
    """The supervisor came up: who and where, counters of the previous process kept."""
    at = at or timezone.now()
    _status(session_name)
    BotStatus.objects.filter(session_name=session_name).update(
        pid=pid, host=socket.gethostname()[:128], process_started_at=at, child_pid=None, updated_at=at
    )


def bot_status_child_started(*, session_name: str, child_pid: int, restarted: bool) -> None:
    """Kept through an outage: the restart count must stay true."""
    at = timezone.now()

    def write() -> None:
        _status(session_name)
        update: dict[str, Any] = {"child_pid": child_pid, "updated_at": at}
        if restarted:
            update["child_restarts"] = F("child_restarts") + 1
        BotStatus.objects.filter(session_name=session_name).update(**update)

    write_buffer().submit("child_started", write)


def bot_status_heartbeat(
    *,
    session_name: str,
    at: datetime,
    child_pid: int | None,
    rss_bytes: int,
    messages_in: int,
    messages_out: int,
    detail: dict[str, Any] | None = None,
    fencing: int | None = None,
) -> None:
    """A heartbeat from the child, as received by the supervisor (written every few seconds).

    With ``fencing``, a supervisor whose lease moved on (it woke from a pause with beats still in its
    pipe) writes nothing: the figures on the status row are the new owner's.
    """
    if fencing is not None:
        try:
            lease_fence_check(session_name=session_name, fencing=fencing)
        except StaleFencing:
            return
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
