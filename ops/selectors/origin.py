"""Where each running session came from at start, for the dashboard and ``/stats`` (web dyno, gunicorn)."""

from __future__ import annotations

from bot.models import BotStatus, ConnectionEvent
from bot.session_origin import ORIGIN_REASON, session_origin_label
from sessions_store.models import WhatsAppSession


def session_origin(*, session_name: str) -> dict:
    """The origin the running process recorded; ``recorded`` is false when it did not (yet).

    Only an origin recorded since the process started counts: yesterday's restore says nothing about
    the process running now.
    """
    if WhatsAppSession.objects.filter(name=session_name, trial=True).exists():
        return {"recorded": False, "source": "trial", "label": "console trial (no WhatsApp session)", "at": None}
    started = BotStatus.objects.filter(session_name=session_name).values_list("process_started_at", flat=True).first()
    events = ConnectionEvent.objects.filter(session_name=session_name, reason=ORIGIN_REASON)
    if started is not None:
        events = events.filter(at__gte=started)
    event = events.order_by("-at", "-id").first()
    if event is None:
        return {"recorded": False, "source": "", "label": "not recorded since this process started", "at": None}
    return {
        "recorded": True,
        "source": event.detail.get("source", ""),
        "label": session_origin_label(event.detail),
        "backup_id": event.detail.get("backup_id"),
        "at": event.at.isoformat(),
    }
