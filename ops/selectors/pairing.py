"""The /pair/ read, imported by the web dyno (gunicorn): a session's current code and pairing state."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from bot.models import BotStatus, ControlCommand
from ops.selectors.connection import connection_problem, state_label
from sessions_store.models import WhatsAppSession
from sessions_store.pairing import pairing_code_current


def pairing_overview(*, session_name: str, now: datetime | None = None) -> dict:
    """What /pair/ shows: the current code, the bot's state, the session's status, the last QR request."""
    now = now or timezone.now()
    status = BotStatus.objects.filter(session_name=session_name).first()
    return {
        "code": pairing_code_current(session_name=session_name, now=now),
        "status": status,
        "state_label": state_label(state=status.state, reason=status.reason) if status else "",
        "problem": connection_problem(status=status, now=now),
        "wa_session": WhatsAppSession.objects.filter(name=session_name).first(),
        "last_refresh": ControlCommand.objects.filter(
            session_name=session_name, action=ControlCommand.Action.REFRESH_QR
        )
        .select_related("requested_by")
        .order_by("-requested_at")
        .first(),
    }
