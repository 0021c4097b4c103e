"""Per-member message counts per group (the bot child's router): counted in memory, written in batches.

Only counts are kept, never what was said: ``.top`` and ``.inactive`` need no more. A database write
per message would cost more than the rest of the message's handling, so counts gather here and are
added to the day's ``MemberActivity`` rows every ``FLUSH_SECONDS`` (and when the child stops); at most
``MAX_PENDING`` members wait, so a flood from many senders flushes early instead of growing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from bot.models import MemberActivity
from bot.transport.base import GroupInfo, IncomingMessage, Participant, user_jid

log = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
MAX_PENDING = 5_000


def member_id(*, jid: str, phone: str = "") -> str:
    """One name per person across LID and phone addressing: the phone JID when the phone is known."""
    return user_jid(phone) if phone else jid


def participant_id(participant: Participant) -> str:
    return member_id(jid=participant.jid, phone=participant.phone)


class ActivityCounter:
    """Counts group messages by (chat, member, day) and adds them to the database in batches."""

    def __init__(self, *, session_name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.session_name = session_name
        self.clock = clock
        self._pending: Counter[tuple[str, str, date]] = Counter()
        self._lock = threading.Lock()
        self._flushed_at = clock()

    def count(self, message: IncomingMessage) -> None:
        """One more message from its sender in its group (messages of the bot itself are not counted)."""
        if not message.is_group or message.from_me:
            return
        key = (
            message.chat[:128],
            member_id(jid=message.sender, phone=message.sender_phone)[:128],
            timezone.localdate(),
        )
        with self._lock:
            self._pending[key] += 1
            due = len(self._pending) >= MAX_PENDING or self.clock() - self._flushed_at >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> int:
        """Add what was counted to the day rows; on a database error the counts wait for the next flush."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._flushed_at = self.clock()
        if not pending:
            return 0
        try:
            with transaction.atomic():
                for (chat, member, day), n in pending.items():
                    _add(session_name=self.session_name, chat=chat, member=member, day=day, n=n)
        except DatabaseError:
            log.warning(
                "activity counts not written yet", extra={"session": self.session_name, "members": len(pending)}
            )
            with self._lock:
                if len(self._pending) < MAX_PENDING:  # kept for the next try, within the bound
                    self._pending.update(pending)
            return 0
        return len(pending)


def _add(*, session_name: str, chat: str, member: str, day: date, n: int) -> None:
    key = {"session_name": session_name, "chat": chat, "member": member, "day": day}
    if MemberActivity.objects.filter(**key).update(messages=F("messages") + n):
        return
    try:
        with transaction.atomic():
            MemberActivity.objects.create(**key, messages=n)
    except IntegrityError:  # another writer created the day's row first
        MemberActivity.objects.filter(**key).update(messages=F("messages") + n)


def activity_top(*, session_name: str, chat: str, days: int = 7, limit: int = 10) -> list[tuple[str, int]]:
    """The most active members of the last ``days`` days, most messages first."""
    since = timezone.localdate() - timedelta(days=days - 1)
    rows = (
        MemberActivity.objects.filter(session_name=session_name, chat=chat, day__gte=since)
        .values("member")
        .annotate(n=Sum("messages"))
        .order_by("-n", "member")[:limit]
    )
    return [(row["member"], row["n"]) for row in rows]


def activity_inactive(*, session_name: str, group: GroupInfo, days: int) -> tuple[list[Participant], date | None]:
    """Members of ``group`` with no message counted in the last ``days`` days, and since when we count."""
    rows = MemberActivity.objects.filter(session_name=session_name, chat=group.chat)
    since = timezone.localdate() - timedelta(days=days - 1)
    active = set(rows.filter(day__gte=since).values_list("member", flat=True))
    first = rows.order_by("day").values_list("day", flat=True).first()
    silent = [p for p in group.participants if participant_id(p) not in active and p.jid not in active]
    return silent, first


def activity_last_seen(*, session_name: str, chat: str) -> dict[str, date]:
    """The last day each member of a chat was counted."""
    rows = (
        MemberActivity.objects.filter(session_name=session_name, chat=chat).values("member").annotate(last=Max("day"))
    )
    return {row["member"]: row["last"] for row in rows}
