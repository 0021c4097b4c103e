"""The /healthz read, imported by the web dyno (gunicorn): is every session's bot connected and beating?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from blacksky_site.db_deadline import db_deadline
from bot.models import BotStatus, ConnectionState
from ops.selectors.connection import state_label
from ops.selectors.liveness import liveness_figures
from sessions_store.models import WhatsAppSession

#: Seconds the health read may wait for the database. A server that refuses answers at once; one
#: that hangs has its query cut here (a new connection is bounded by DB_CONNECT_TIMEOUT instead).
DATABASE_BUDGET = 2.0


@dataclass(frozen=True)
class Health:
    ok: bool
    reason: str
    sessions: dict[str, str]


def health_check(*, now: datetime | None = None) -> Health:
    """Database answers, and every known session's bot is connected with a fresh heartbeat.

    One ``SELECT`` on the small ``BotStatus`` table (one row per session), within
    ``DATABASE_BUDGET``: a database that refuses, hangs or drops the link gives reason ``database``.
    """
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.HEARTBEAT_TIMEOUT)
    try:
        with db_deadline(seconds=DATABASE_BUDGET):
            trials = WhatsAppSession.objects.filter(trial=True).values("name")  # console trials are nobody's bot
            rows = list(
                BotStatus.objects.exclude(session_name__in=trials)
                .order_by("session_name")
                .only("session_name", "state", "reason", "last_heartbeat_at", "connected_since", "detail")
            )
    except (OperationalError, InterfaceError):
        from django.db import connection

        connection.close()  # broken or cut: the next request opens a fresh one
        return Health(ok=False, reason="database", sessions={})
    if not rows:
        return Health(ok=False, reason="no bot has reported a heartbeat yet", sessions={})
    problems: list[str] = []
    sessions: dict[str, str] = {}
    for row in rows:
        name, state, reason, beat = row.session_name, row.state, row.reason, row.last_heartbeat_at
        if beat is None:
            problem = "no heartbeat yet"
        elif now - beat > timeout:
            problem = f"heartbeat stale for {int((now - beat).total_seconds())}s (limit {settings.HEARTBEAT_TIMEOUT}s)"
        elif state != ConnectionState.CONNECTED:
            # The reason in words, never the raw error: /healthz is public.
            problem = f"state is {state_label(state=state, reason=reason)}"
        else:
            problem = liveness_figures(status=row, now=now)["problem"]
        sessions[name] = problem or "ok"
        if problem:
            problems.append(f"session {name}: {problem}")
    return Health(ok=not problems, reason="; ".join(problems), sessions=sessions)
