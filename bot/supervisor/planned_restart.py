"""Planned restarts at a quiet hour (``PLANNED_RESTART_AT``, HH:MM UTC; off when empty).

Heroku restarts every dyno about once a day at a moment of its own choosing, possibly at the
busiest hour. Restarting on purpose at a quiet hour instead keeps that restart out of the way: with
``HEROKU_API_KEY`` and ``HEROKU_APP_NAME`` set the worker dyno itself is restarted through the
Platform API (which also resets Heroku's 24-hour clock); without them the supervisor restarts its
bot child. The supervisor wires it like this::

    planned = PlannedRestart(started_at=now)            # once, at start
    if planned.due(now):                                # every loop step
        result = planned_restart_perform(now=now, session_name=name)
        if result.restart_child:                        # no dyno restart on its way
            supervisor.restart_child("planned_restart")
        # else: Heroku sends SIGTERM shortly and the usual graceful shutdown runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from blacksky_site.config import parse_hhmm
from bot import events
from bot.models import BotStatus, ConnectionEvent, ConnectionState

logger = logging.getLogger(__name__)

REASON = "planned_restart"
MIN_UPTIME = timedelta(minutes=30)


def next_planned_restart(*, at_hhmm: str, now: datetime) -> datetime | None:
    """The first ``at_hhmm`` (UTC) strictly after ``now``; None when planned restarts are off."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    value = parse_hhmm(at_hhmm or "")
    if not value:
        return None
    hours, minutes = (int(part) for part in value.split(":"))
    now_utc = now.astimezone(UTC)
    candidate = now_utc.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if candidate <= now_utc:
        candidate += timedelta(days=1)
    return candidate


class PlannedRestart:
    """Says once per day, at ``at_hhmm``, that it is time to restart.

    A process that started less than ``min_uptime`` before the first planned time (for example the
    one started *by* the planned restart, or by Heroku shortly before) skips to the next day. A loop
    that stalled past the time fires late, once, and then schedules the next day.
    """

    def __init__(self, *, started_at: datetime, at_hhmm: str | None = None, min_uptime: timedelta = MIN_UPTIME) -> None:
        self.at_hhmm = settings.PLANNED_RESTART_AT if at_hhmm is None else at_hhmm
        self.next_at = next_planned_restart(at_hhmm=self.at_hhmm, now=started_at + min_uptime)
        self.last_due: datetime | None = None
        if self.next_at is not None:
            logger.info("planned restart scheduled", extra={"at": self.next_at.isoformat()})

    @property
    def enabled(self) -> bool:
        return self.next_at is not None

    def due(self, now: datetime) -> bool:
        """True exactly once when ``now`` reaches the planned time; then the next day is planned."""
        if self.next_at is None or now < self.next_at:
            return False
        self.last_due = now
        self.next_at = next_planned_restart(at_hhmm=self.at_hhmm, now=max(now, self.next_at))
        return True


@dataclass
class PlannedRestartResult:
    """What ``planned_restart_perform`` did: the event, and whether the supervisor must restart the child."""

    event: ConnectionEvent
    dyno_restart: str  # "requested", "not_configured" or "failed"
    error: str = ""

    @property
    def restart_child(self) -> bool:
        """No dyno restart is on its way, so the supervisor restarts its child itself."""
        return self.dyno_restart != "requested"


def planned_restart_perform(
    *, now: datetime, session_name: str = "default", dyno: str = "worker", timeout: float = 10.0
) -> PlannedRestartResult:
    """Record the planned restart and, when Heroku is configured, ask the Platform API to restart ``dyno``.

    The event is written first (the dyno may be stopped right after the API call) and completed
    with the API's outcome. A refused token or an API that does not answer is logged and recorded;
    the result then asks the supervisor to restart its child, so the planned restart still happens.
    """
    from blacksky_site.heroku import HerokuError, heroku_configured, heroku_dyno_restart

    status = BotStatus.objects.filter(session_name=session_name).first()
    from_state = status.state if status else ConnectionState.CONNECTED
    configured = heroku_configured()
    detail = {"at_hhmm": settings.PLANNED_RESTART_AT, "dyno": dyno if configured else "", "dyno_restart": "pending"}
    event = events.connection_event_record(
        session_name=session_name,
        from_state=from_state,
        to_state=ConnectionState.STOPPED,
        reason=REASON,
        detail=detail,
        at=now,
    )
    if not configured:
        outcome, error = "not_configured", ""
        logger.info("planned restart: restarting the bot child", extra={"session": session_name})
    else:
        try:
            heroku_dyno_restart(dyno=dyno, timeout=timeout)
        except HerokuError as exc:
            outcome, error = "failed", str(exc)
            logger.error(
                "planned restart: dyno restart failed, restarting the bot child instead",
                extra={"session": session_name, "dyno": dyno, "status": exc.status, "error": error},
            )
        else:
            outcome, error = "requested", ""
            logger.info("planned restart: dyno restart requested", extra={"session": session_name, "dyno": dyno})
    event.detail = {**detail, "dyno_restart": outcome, **({"error": error[:300]} if error else {})}
    event.save(update_fields=["detail"])
    return PlannedRestartResult(event=event, dyno_restart=outcome, error=error)
