"""The WhatsApp message owners get when the bot is back after an outage worth telling them about.

A blip of a few seconds (whatsmeow reconnects by itself) is not news; a connection that was gone
for longer than ``OUTAGE_ALERT_MINUTES`` is: once it is back, the runtime sends every owner one
message saying how long the bot was down and why. :func:`outage_message` words it (None: stay
quiet); :func:`outage_last` recovers when the outage began and why from the connection history, so
the message is right even when the process itself was restarted in between::

    outage = outage_last(session_name=name)  # right after recording the `connected` event
    text = outage and outage_message(down_since=outage.down_since, back_at=outage.back_at, reason=outage.reason)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bot.models import ConnectionEvent, ConnectionState

DEFAULT_MIN_OUTAGE = timedelta(minutes=3)

# Reasons recorded by the state machine and the supervisor, in words an owner understands.
REASON_WORDS = {
    "keepalive_timeout": _("WhatsApp stopped answering (keep-alive timeout)"),
    "disconnected": _("the connection to WhatsApp dropped"),
    "stream_error": _("WhatsApp closed the stream"),
    "connect_failure": _("WhatsApp refused the connection"),
    "connect_error": _("no network"),
    "hung": _("the bot process hung and was restarted"),
    "crash": _("the bot process crashed and was restarted"),
    "memory": _("the bot used too much memory and was restarted"),
    "reconnect_exhausted": _("reconnecting kept failing, so the bot was restarted"),
    "planned_restart": _("a planned restart"),
    "shutdown": _("the host restarted the bot"),
    "temporary_ban": _("a temporary ban by WhatsApp"),
    "lease_lost": _("another instance took over"),
}


@dataclass(frozen=True)
class Outage:
    """When the connection was lost, when it came back, and the reason recorded when it was lost."""

    down_since: datetime
    back_at: datetime
    reason: str


def outage_min_duration() -> timedelta:
    """``OUTAGE_ALERT_MINUTES`` as a duration (3 minutes when the setting is absent)."""
    minutes = getattr(settings, "OUTAGE_ALERT_MINUTES", None)
    return DEFAULT_MIN_OUTAGE if minutes is None else timedelta(minutes=minutes)


def duration_words(delta: timedelta) -> str:
    """``45 s``, ``12 min``, ``1 h 5 min``, ``2 d 3 h``: precise enough for a chat message."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def reason_words(reason: str) -> str:
    """A recorded reason in words; ``stream_error_xml_not_well_formed`` keeps its detail in brackets."""
    reason = (reason or "").strip().lower()
    if not reason:
        return gettext("unknown")
    if reason in REASON_WORDS:
        return str(REASON_WORDS[reason])
    for key in sorted(REASON_WORDS, key=len, reverse=True):
        if reason.startswith(key + "_"):
            return f"{REASON_WORDS[key]} ({reason[len(key) + 1 :].replace('_', ' ')})"
    return reason.replace("_", " ")


def outage_message(
    *,
    down_since: datetime,
    back_at: datetime,
    reason: str,
    min_duration: timedelta | None = None,
    bot_name: str | None = None,
) -> str | None:
    """The owners' message about an outage, or None when it was shorter than ``min_duration``.

    ``min_duration`` defaults to ``OUTAGE_ALERT_MINUTES``; the text names the bot, the length of the
    outage, when it began (UTC) and the reason in words.
    """
    if back_at < down_since:
        raise ValueError("back_at is before down_since")
    threshold = outage_min_duration() if min_duration is None else min_duration
    length = back_at - down_since
    if length < threshold:
        return None
    name = bot_name or getattr(settings, "BOT_NAME", "") or gettext("The bot")
    return gettext(
        "✅ %(bot)s is back online.\nIt was offline for %(duration)s (from %(start)s to %(end)s UTC).\n"
        "Reason: %(reason)s."
    ) % {
        "bot": name,
        "duration": duration_words(length),
        "start": f"{down_since:%Y-%m-%d %H:%M}",
        "end": f"{back_at:%H:%M}",
        "reason": reason_words(reason),
    }


def outage_last(*, session_name: str, now: datetime | None = None) -> Outage | None:
    """The outage ended by the session's latest reconnection (at or before ``now``), from the history.

    It began with the first transition away from ``connected`` after the connection before; that also
    covers a process killed while connected (no "left connected" row): the successor's first event
    then marks the start. None when the latest connection was the first one ever.
    """
    events = ConnectionEvent.objects.filter(session_name=session_name)
    if now is not None:
        events = events.filter(at__lte=now)
    back = (
        events.filter(to_state=ConnectionState.CONNECTED)
        .exclude(from_state=ConnectionState.CONNECTED)
        .order_by("-at", "-id")
        .first()
    )
    if back is None:
        return None
    before_back = events.filter(Q(at__lt=back.at) | Q(at=back.at, id__lt=back.id))
    previous = before_back.filter(to_state=ConnectionState.CONNECTED).order_by("-at", "-id").first()
    if previous is None:
        return None
    after_previous = before_back.filter(Q(at__gt=previous.at) | Q(at=previous.at, id__gt=previous.id))
    first_down = after_previous.exclude(to_state=ConnectionState.CONNECTED).order_by("at", "id").first()
    if first_down is None:
        return None
    return Outage(down_since=first_down.at, back_at=back.at, reason=first_down.reason)
