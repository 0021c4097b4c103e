"""``.afk``: who is away, kept in the database per session and read from memory on every message.

Imported by ``bot.dispatch.router`` (every message passes ``AwayBook.replies``) and the ``.afk``
command (``AwayBook.mark``). A mention of, or a reply to, someone away gets "away since X: reason"
at most once per chat every ``notice_interval`` seconds; their own next message clears it and says
how long they were away. The book reloads every ``ttl`` seconds (a row an operator deleted in the
admin is forgotten soon); a failed database call is logged and the message goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bot.dispatch.context import mention
from bot.dispatch.limits import OncePer
from bot.models import AwayStatus
from bot.transport.base import IncomingMessage, Reply, jid_user

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500  # AwayStatus.reason's width
MAX_AWAY_LOADED = 10_000  # rows read into memory at most (the newest)


def duration_text(seconds: float) -> str:
    """'3d 4h', '2h 5m', '4m 10s', '12s': the two largest units."""
    seconds = max(0, int(seconds))
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


class AwayBook:
    def __init__(
        self,
        *,
        session_name: str,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = timezone.now,
        notice_interval: float = 600.0,
        ttl: float = 60.0,
    ) -> None:
        self.session_name = session_name
        self.clock = clock
        self.now = now
        self.ttl = ttl
        self._notices = OncePer(interval=notice_interval, clock=clock)
        self._away: dict[str, tuple[datetime, str]] = {}  # user -> (since, reason)
        self._by_identity: dict[str, str] = {}  # any JID user they are known by -> user
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    # -- memory ------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        now = self.clock()
        if self._loaded_at is not None and now - self._loaded_at < self.ttl:
            return
        self._loaded_at = now
        try:
            rows = list(
                AwayStatus.objects.filter(session_name=self.session_name)
                .order_by("-since")
                .values_list("user", "identities", "since", "reason")[:MAX_AWAY_LOADED]
            )
        except Exception as exc:
            log.warning("away statuses not reloaded, keeping the previous ones", extra={"error": str(exc)[:200]})
            return
        with self._lock:
            self._away = {user: (since, reason) for user, _ids, since, reason in rows}
            self._by_identity = {}
            for user, identities, _since, _reason in rows:
                for identity in [user, *(identities if isinstance(identities, list) else [])]:
                    self._by_identity[str(identity)] = user

    def away(self, user: str) -> tuple[datetime, str] | None:
        self._refresh()
        return self._away.get(user)

    # -- writes (database, then memory) ------------------------------------------------------------------
    def mark(self, *, user: str, identities: Iterable[str], reason: str) -> None:
        """``user`` is away from now on, with ``reason`` (at most MAX_REASON_CHARS: the caller checks)."""
        known = sorted({i for i in identities if i} | {user})
        since = self.now()
        with transaction.atomic():
            AwayStatus.objects.update_or_create(
                session_name=self.session_name,
                user=user,
                defaults={"identities": known, "reason": reason[:MAX_REASON_CHARS], "since": since},
            )
        self._refresh()
        with self._lock:
            self._away[user] = (since, reason[:MAX_REASON_CHARS])
            for identity in known:
                self._by_identity[identity] = user

    def clear(self, user: str) -> tuple[datetime, str] | None:
        """``user`` is back: the row goes; returns what it said (None when they were not away)."""
        with self._lock:
            entry = self._away.pop(user, None)
            self._by_identity = {k: v for k, v in self._by_identity.items() if v != user}
        AwayStatus.objects.filter(session_name=self.session_name, user=user).delete()
        return entry

    # -- the router's question ---------------------------------------------------------------------------
    def replies(self, message: IncomingMessage, *, user: str) -> list[Reply]:
        """What this message earns: a welcome back for its sender, notices for the people it names.

        Never raises: a database that fails here costs the notices, not the message's command."""
        try:
            return self._replies(message, user=user)
        except Exception:
            log.exception("away check failed", extra={"session": self.session_name, "msg_id": message.id})
            return []

    def _replies(self, message: IncomingMessage, *, user: str) -> list[Reply]:
        self._refresh()
        if not self._away:
            return []
        replies: list[Reply] = []
        if user in self._away:
            entry = self.clear(user)
            if entry is not None:
                took = duration_text((self.now() - entry[0]).total_seconds())
                text = _("Welcome back %(who)s! You were away for %(duration)s.") % {
                    "who": mention(message.sender),
                    "duration": took,
                }
                replies.append(self._reply(message, text, (message.sender,)))
        named = [*message.mentions, *((message.quoted_sender,) if message.quoted_sender else ())]
        for jid in dict.fromkeys(named):
            away_user = self._by_identity.get(jid_user(jid))
            if away_user is None or away_user == user:
                continue
            entry = self._away.get(away_user)
            if entry is None or not self._notices.allow((away_user, message.chat)):
                continue
            since, reason = entry
            ago = duration_text((self.now() - since).total_seconds())
            values = {"who": mention(jid), "since": f"{since:%Y-%m-%d %H:%M} UTC", "ago": ago, "reason": reason}
            if reason:
                text = _("%(who)s is away since %(since)s (%(ago)s ago): %(reason)s") % values
            else:
                text = _("%(who)s is away since %(since)s (%(ago)s ago).") % values
            replies.append(self._reply(message, text, (jid,)))
        return replies

    @staticmethod
    def _reply(message: IncomingMessage, text: str, mentions: tuple[str, ...]) -> Reply:
        return Reply(
            kind="text", chat=message.chat, text=text, mentions=mentions, reply_to=message.id, target=message.sender
        )
