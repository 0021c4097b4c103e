"""The primary phone's age: WhatsApp unlinks this bot when the phone stays offline for ~14 days.

The child records each sign of the phone (a message it sent, a receipt it sent, a liveness answer
naming it) at most once a minute, and asks :func:`phone_warning_due` now and then; each warning
threshold goes out once per absence, even with two workers asking (a conditional update decides).
The web reads the age through :func:`phone_age_seconds`.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from bot.models import PhoneWatch

WARN_DAYS = (10, 12, 13)  # days without the phone that get a warning each
UNLINK_DAYS = 14  # what WhatsApp allows a companion without its phone (approximately)
DAY = 86400.0


def phone_seen_record(*, session_name: str, at: datetime, how: str) -> None:
    """The phone was seen at ``at``: the age starts again and so do the warnings."""
    watch, _created = PhoneWatch.objects.get_or_create(session_name=session_name)
    if watch.last_seen_at is not None and watch.last_seen_at >= at:
        return
    PhoneWatch.objects.filter(pk=watch.pk).filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=at)).update(
        last_seen_at=at, last_seen_how=how[:16], warned_days=0, updated_at=timezone.now()
    )


def phone_age_seconds(watch: PhoneWatch | None, *, now: datetime | None = None) -> float | None:
    """Seconds since the phone was last seen (since watching began when never seen); None: no row."""
    if watch is None:
        return None
    since = watch.last_seen_at or watch.watched_since
    return max(0.0, ((now or timezone.now()) - since).total_seconds())


def phone_warning_due(*, session_name: str, now: datetime | None = None) -> int | None:
    """The threshold (in days) whose warning must go out now, claimed so it goes out once; else None."""
    now = now or timezone.now()
    watch, _created = PhoneWatch.objects.get_or_create(session_name=session_name)
    age = phone_age_seconds(watch, now=now) or 0.0
    reached = [days for days in WARN_DAYS if age >= days * DAY and days > watch.warned_days]
    if not reached:
        return None
    days = reached[-1]  # after a long downtime only the most urgent one, never three at once
    claimed = PhoneWatch.objects.filter(pk=watch.pk, warned_days__lt=days, last_seen_at=watch.last_seen_at).update(
        warned_days=days, updated_at=now
    )
    return days if claimed else None


def phone_warning_text(days: int) -> str:
    """The owners' WhatsApp message for a threshold."""
    left = max(1, UNLINK_DAYS - days)
    return ngettext(
        "The phone of this WhatsApp account has not been seen for %(days)d days. Open WhatsApp on the "
        "phone or this bot will be unlinked in about %(left)d day.",
        "The phone of this WhatsApp account has not been seen for %(days)d days. Open WhatsApp on the "
        "phone or this bot will be unlinked in about %(left)d days.",
        left,
    ) % {"days": days, "left": left}


def phone_warning_reason(days: int) -> str:
    """The reason code of the webhook and the log line."""
    return f"phone_unseen_{days}d"
