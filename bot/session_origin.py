"""Where the running session came from at start: the live store, backup #N of <time>, an env var, or a
fresh pairing. Written by the supervisor (``runbot``) right after the restore chain decided; read by
the web dyno's selectors for the dashboard and ``/stats``.

It is one ``ConnectionEvent`` (``restoring -> restoring``, reason ``session_origin``) rather than a
field of ``BotStatus``: the heartbeats rewrite the status detail every few seconds, an event stays,
and the dashboard's event list then shows it in its place in the story.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.models import BotStatus, ConnectionEvent, ConnectionState

logger = logging.getLogger(__name__)

ORIGIN_REASON = "session_origin"
#: Origins that put another store in place (``live`` kept the store, ``none`` had nothing to restore).
RESTORING_SOURCES = frozenset({"backup", "env_session_data", "env_credentials"})
_ENV_NAMES = {"env_session_data": "WA_SESSION_DATA", "env_credentials": "WA_CREDENTIALS (+ WA_AUTH_STATE)"}


def session_origin_label(detail: dict[str, Any]) -> str:
    """The operator's sentence for a recorded origin."""
    source = detail.get("source", "")
    if source == "live":
        return "live store (kept as it was)"
    if source == "backup":
        made = detail.get("backup_created_at") or "an unknown time"
        return f"backup #{detail.get('backup_id')} of {made}"
    if source in _ENV_NAMES:
        return f"env var {_ENV_NAMES[source]}"
    if source == "none":
        return "fresh pairing (no live store, backup or env var to restore)"
    if source == "failed":
        return f"unknown: the restore chain failed ({detail.get('detail', '')})"
    return source or "unknown"


def session_origin_record(*, session_name: str, outcome: Any, error: str = "") -> ConnectionEvent | None:
    """Record what the restore chain decided (``outcome`` is its ``RestoreOutcome``, None when it failed).

    Never raises: the bot must start whether or not this row could be written.
    """
    try:
        detail: dict[str, Any] = {"source": "failed", "detail": error[:200]}
        if outcome is not None:
            detail = {"source": outcome.source, "detail": outcome.detail[:200], "device_jid": outcome.device_jid}
            if outcome.backup_id is not None:
                from sessions_store.models import SessionBackup

                made: datetime | None = (
                    SessionBackup.objects.filter(pk=outcome.backup_id).values_list("created_at", flat=True).first()
                )
                detail["backup_id"] = outcome.backup_id
                detail["backup_created_at"] = f"{made:%Y-%m-%d %H:%M} UTC" if made else ""
        state = BotStatus.objects.filter(session_name=session_name).values_list("state", flat=True).first()
        state = state or ConnectionState.RESTORING
        event = ConnectionEvent.objects.create(
            session_name=session_name, from_state=state, to_state=state, reason=ORIGIN_REASON, detail=detail
        )
    except Exception:
        logger.exception("recording the session origin failed", extra={"session": session_name})
        return None
    logger.info("session origin", extra={"session": session_name, "origin": session_origin_label(detail)})
    return event
