"""The /healthz read, imported by the web dyno (gunicorn): is every session's bot connected and beating?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bot.models import BotStatus, ConnectionState
from ops.selectors.connection import state_label


@dataclass(frozen=True)
class Health:
    ok: bool
    reason: str
    sessions: dict[str, str]


def health_check(*, now: datetime | None = None) -> Health:
    """Database answers, and every known session's bot is connected with a fresh heartbeat.

    One ``SELECT`` on the small ``BotStatus`` table (one row per session). A database error
    propagates: the view turns it into a 503.
    """
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.HEARTBEAT_TIMEOUT)
    rows = list(
        BotStatus.objects.order_by("session_name").values_list("session_name", "state", "reason", "last_heartbeat_at")
    )
    if not rows:
        return Health(ok=False, reason="no bot has reported a heartbeat yet", sessions={})
    problems: list[str] = []
    sessions: dict[str, str] = {}
    for name, state, reason, beat in rows:
        if beat is None:
            problem = "no heartbeat yet"
        elif now - beat > timeout:
            problem = f"heartbeat stale for {int((now - beat).total_seconds())}s (limit {settings.HEARTBEAT_TIMEOUT}s)"
        elif state != ConnectionState.CONNECTED:
            # The reason in words, never the raw error: /healthz is public.
            problem = f"state is {state_label(state=state, reason=reason)}"
        else:
            problem = ""
        sessions[name] = problem or "ok"
        if problem:
            problems.append(f"session {name}: {problem}")
    return Health(ok=not problems, reason="; ".join(problems), sessions=sessions)
