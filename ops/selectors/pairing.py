"""The /pair/ read, imported by the web dyno (gunicorn): a session's current code and pairing state."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bot.models import BotStatus, ControlCommand
from ops.selectors.connection import connection_problem, state_label
from sessions_store.models import WhatsAppSession
from sessions_store.pairing import pairing_code_current


def _last_request(*, session_name: str, action: str) -> ControlCommand | None:
    return (
        ControlCommand.objects.filter(session_name=session_name, action=action)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")
        .first()
    )


def pairing_overview(*, session_name: str, now: datetime | None = None) -> dict:
    """What /pair/ shows: the current code, the bot's state, the session's status, the last requests."""
    now = now or timezone.now()
    status = BotStatus.objects.filter(session_name=session_name).first()
    return {
        "code": pairing_code_current(session_name=session_name, now=now),
        "status": status,
        "state_label": state_label(state=status.state, reason=status.reason) if status else "",
        "problem": connection_problem(status=status, now=now),
        "wa_session": WhatsAppSession.objects.filter(name=session_name).first(),
        "last_refresh": _last_request(session_name=session_name, action=ControlCommand.Action.REFRESH_QR),
        "last_phone": _last_request(session_name=session_name, action=ControlCommand.Action.PAIR_PHONE),
    }


def pairing_bot_running(*, session_name: str, now: datetime | None = None) -> bool:
    """Whether a bot beats for the session now, so a request is picked up in seconds, not when a worker starts."""
    now = now or timezone.now()
    beat = BotStatus.objects.filter(session_name=session_name).values_list("last_heartbeat_at", flat=True).first()
    return beat is not None and now - beat <= timedelta(seconds=settings.HEARTBEAT_TIMEOUT)


def pairing_default_session() -> str:
    """The session /pair/ opens without ``?session=``: the first real one that is not paired yet, else
    the first real one, else ``default``. Console trials are never the default."""
    real = WhatsAppSession.objects.filter(trial=False).order_by("name")
    unpaired = real.exclude(status=WhatsAppSession.Status.PAIRED).values_list("name", flat=True).first()
    return unpaired or real.values_list("name", flat=True).first() or "default"
