"""Anti-delete and anti-edit on the message path: keep recent messages of opted-in chats, show deletes and edits.

Imported by the router (``observe`` for every new message) and the child's dispatchers (``handle``
for each ``MessageRevoked`` / ``MessageEdited``); the commands (``bot.commands.history``) change
the switches through the session's live keeper (``HistoryKeeper.live``). The switches are read
from the database at most every ``ttl`` seconds, never per message; the cache itself is
``bot.message_cache`` (encrypted, bounded by age and size).

Rules: only chats with anti-delete or anti-edit on are kept, never a view-once message, never our
own account's messages; our own account's deletes and edits (the bot's antilink deletes among
them) are never shown; an edit by someone other than the author changes nothing; each chat gets at
most ``REPOSTS_PER_MINUTE`` reposts (a flood of deletes costs one indexed query each, then only
counts). Nothing here raises into the loop: a failure is logged and counted as an error.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import translation
from django.utils.translation import gettext as _

from bot.dispatch.context import mention
from bot.dispatch.limits import KeyedBuckets
from bot.dispatch.reloading import ReloadsWhenStale
from bot.dispatch.stats import StatsCollector
from bot.message_cache import (
    MAX_TEXT,
    CachedContent,
    message_cache_delete,
    message_cache_get,
    message_cache_purge_chat,
    message_cache_put,
    message_cache_replace_text,
)
from bot.models import ChatHistorySetting
from bot.transport.base import IncomingMessage, MessageEdited, MessageRevoked, Reply, jid_user, user_jid

log = logging.getLogger(__name__)

REPOSTS_PER_MINUTE = 20  # per chat; a burst of deletes beyond it is counted, not posted
SEEN_EVENTS_KEPT = 2000
_NOT_KEPT_KINDS = frozenset({"reaction"})

# The counter keys (``bot.dispatch.stats``; ``ops.selectors.counters`` shows them in /stats).
DELETE_REPOSTED = "history:delete_reposted"
EDIT_REPOSTED = "history:edit_reposted"
UNKNOWN = "history:unknown"  # a delete or edit of a message not kept (too old, never kept, undecryptable)
LIMITED = "history:limited"  # not posted: the chat's repost budget was spent
FOREIGN_EDIT = "history:foreign_edit"  # an "edit" from someone other than the author: ignored


@dataclass(frozen=True)
class ChatHistory:
    """One chat's switches, as the keeper holds them."""

    antidelete: bool = False
    antiedit: bool = False
    destination: str = ChatHistorySetting.Destination.HERE
    destination_chat: str = ""

    @property
    def keeps(self) -> bool:
        return self.antidelete or self.antiedit


@dataclass
class HistoryResult:
    """What ``handle`` decided for one delete or edit (the dispatcher reads ``replies``)."""

    replies: list[Reply] = field(default_factory=list)
    reason: str = ""
    command: str | None = None
    error: bool = False


def _row_history(row: ChatHistorySetting) -> ChatHistory:
    return ChatHistory(row.antidelete, row.antiedit, row.destination, row.destination_chat)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _same_person(a: Iterable[str], b: Iterable[str]) -> bool:
    return bool({jid_user(j) for j in a if j} & {jid_user(j) for j in b if j})


class HistoryKeeper(ReloadsWhenStale):
    _live: weakref.WeakValueDictionary[str, HistoryKeeper] = weakref.WeakValueDictionary()

    def __init__(
        self,
        *,
        session_name: str,
        owners: Iterable[str] | Callable[[], Iterable[str]] = (),
        stats: StatsCollector | None = None,
        was_sent_by_us: Callable[[str], bool] = lambda message_id: False,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        ttl: float = 30.0,
        language_of: Callable[[str], str | None] = lambda chat: None,
    ) -> None:
        self.session_name = session_name
        # OWNER_NUMBERS in their order (the first owner's chat gets reposts sent "to owner"); a callable
        # reads them when needed, since an owner may change them from the chat (bot.runtime_settings).
        self._owners = owners if callable(owners) else tuple(owners)
        self.stats = stats if stats is not None else StatsCollector(session_name=session_name)
        self.was_sent_by_us = was_sent_by_us
        self.clock = clock
        self.now = now
        self.ttl = ttl
        self.language_of = language_of  # a chat's language (``.lang``, else BOT_LANG); None: the active one
        self.chats: dict[str, ChatHistory] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._budget = KeyedBuckets(rate=REPOSTS_PER_MINUTE / 60.0, capacity=REPOSTS_PER_MINUTE, max_keys=5000)
        HistoryKeeper._live[session_name] = self

    @property
    def owners(self) -> list[str]:
        owners = self._owners() if callable(self._owners) else self._owners
        return [o for o in owners if o]

    @classmethod
    def live(cls, session_name: str) -> HistoryKeeper | None:
        """The keeper of the session running in this process (commands update its switches at once)."""
        return cls._live.get(session_name)

    # -- switches --------------------------------------------------------------------------------------
    def reload(self) -> None:
        try:
            rows = ChatHistorySetting.objects.filter(session_name=self.session_name)
            self.chats = {row.chat: _row_history(row) for row in rows if row.keeps_messages}
        except Exception as exc:
            log.warning("history switches reload failed, keeping the previous ones", extra={"error": str(exc)})
        self._loaded_at = self.clock()

    def chat(self, chat: str) -> ChatHistory:
        self.refresh_if_stale()
        return self.chats.get(chat, ChatHistory())

    def chat_set(self, chat: str, *, changed_by: str = "", **fields: object) -> tuple[ChatHistory, int]:
        """Change a chat's switches (database, then memory); both off forgets its kept messages.
        Returns the new switches and how many kept messages were forgotten."""
        row, _created = ChatHistorySetting.objects.get_or_create(session_name=self.session_name, chat=chat)
        for name, value in fields.items():
            setattr(row, name, value)
        row.changed_by = changed_by[:32]
        row.save()
        history = _row_history(row)
        purged = 0
        if history.keeps:
            self.chats = {**self.chats, chat: history}
        else:
            self.chats = {k: v for k, v in self.chats.items() if k != chat}
            purged = message_cache_purge_chat(session_name=self.session_name, chat=chat)
        return history, purged

    # -- every new message -----------------------------------------------------------------------------
    def observe(self, message: IncomingMessage) -> bool:
        """Keep ``message`` when its chat wants it; True when kept. Never raises."""
        if message.from_me or message.view_once or message.kind in _NOT_KEPT_KINDS or not message.id:
            return False
        try:
            if not self.chat(message.chat).keeps:
                return False
            if not message.text and message.kind in {"text", "other"}:
                return False  # nothing to show again (a protocol message, an empty text)
            return message_cache_put(
                session_name=self.session_name,
                chat=message.chat,
                message_id=message.id,
                sender=message.sender,
                sender_alt=message.sender_alt,
                kind=message.kind,
                text=message.text,
                push_name=message.push_name,
                sent_at=message.timestamp,
            )
        except Exception:
            log.exception("keeping a message failed", extra={"session": self.session_name, "chat": message.chat})
            self.stats.error()
            return False

    # -- deletes and edits -----------------------------------------------------------------------------
    def handle(self, event: MessageRevoked | MessageEdited) -> HistoryResult:
        """A delete or an edit: the repost to send, if any. Never raises."""
        try:
            return self._handle(event)
        except Exception:
            log.exception("handling a delete or edit failed", extra={"session": self.session_name, "chat": event.chat})
            self.stats.error()
            return HistoryResult(reason="error", error=True)

    def _first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._seen:
                return False
            self._seen.add(event_id)
            self._seen_order.append(event_id)
            if len(self._seen_order) > SEEN_EVENTS_KEPT:
                self._seen.discard(self._seen_order.popleft())
        return True

    def _handle(self, event: MessageRevoked | MessageEdited) -> HistoryResult:
        if event.id and not self._first_time(event.id):
            return HistoryResult(reason="duplicate")
        if event.from_me or self.was_sent_by_us(event.id):
            return HistoryResult(reason="own")  # our account's own deletes (antilink's too) stay deleted
        history = self.chat(event.chat)
        if not history.keeps:
            return HistoryResult(reason="off")
        now = self.now()
        cached = message_cache_get(session_name=self.session_name, chat=event.chat, message_id=event.target_id, now=now)
        if cached is None:
            self.stats.count(UNKNOWN)
            return HistoryResult(reason="unknown")
        if isinstance(event, MessageRevoked):
            message_cache_delete(session_name=self.session_name, chat=event.chat, message_id=event.target_id)
            if not history.antidelete:
                return HistoryResult(reason="off")
            return self._post(history, event, DELETE_REPOSTED, lambda: self._deleted_text(event, cached))
        if not _same_person((event.sender, event.sender_alt), (cached.sender, cached.sender_alt)):
            self.stats.count(FOREIGN_EDIT)
            return HistoryResult(reason="foreign_edit")
        if event.text == cached.text:
            return HistoryResult(reason="unchanged")
        message_cache_replace_text(session_name=self.session_name, cached=cached, text=event.text)
        if not history.antiedit:
            return HistoryResult(reason="off")
        return self._post(history, event, EDIT_REPOSTED, lambda: self._edited_text(event, cached))

    def _post(
        self,
        history: ChatHistory,
        event: MessageRevoked | MessageEdited,
        key: str,
        build: Callable[[], tuple[str, list[str]]],
    ) -> HistoryResult:
        destination = self.destination(history, event.chat)
        if not destination:
            return HistoryResult(reason="no_destination")
        if not self._budget.get(event.chat, self.clock()).try_take(self.clock()):
            self.stats.count(LIMITED)
            return HistoryResult(reason="limited")
        with translation.override(self.language_of(destination)):  # the words of the chat that reads them
            text, mentions = build()
            if destination != event.chat:
                text = _("In chat %(chat)s\n") % {"chat": event.chat} + text
        self.stats.count(key)
        reply = Reply(kind="text", chat=destination, text=text, mentions=tuple(dict.fromkeys(mentions)))
        return HistoryResult(replies=[reply], reason=key.split(":", 1)[1])

    def destination(self, history: ChatHistory, chat: str) -> str:
        """Where a chat's reposts go: the chat itself, the first owner's private chat, or the chat named."""
        if history.destination == ChatHistorySetting.Destination.OWNER:
            owners = self.owners
            return user_jid(owners[0]) if owners else ""
        if history.destination == ChatHistorySetting.Destination.CHAT:
            return history.destination_chat
        return chat

    def _body(self, cached: CachedContent) -> str:
        more = _(" (cut at %(n)d characters)") % {"n": len(cached.text)} if cached.truncated else ""
        if cached.kind in {"text", "other"}:
            return cached.text + more
        if cached.text:
            return _("[%(kind)s] caption: %(caption)s") % {"kind": cached.kind, "caption": cached.text} + more
        return _("[%(kind)s] without a caption") % {"kind": cached.kind}

    def _deleted_text(self, event: MessageRevoked, cached: CachedContent) -> tuple[str, list[str]]:
        author = cached.sender
        lines = [
            _("🗑️ Deleted message"),
            _("From: %(who)s, sent %(sent)s") % {"who": mention(author), "sent": _when(cached.sent_at)},
        ]
        mentions = [author]
        if _same_person((event.sender, event.sender_alt), (cached.sender, cached.sender_alt)):
            lines.append(_("Deleted by its author at %(at)s") % {"at": _when(event.timestamp)})
        else:
            lines.append(
                _("Deleted by %(who)s (not its author) at %(at)s")
                % {"who": mention(event.sender), "at": _when(event.timestamp)}
            )
            mentions.append(event.sender)
        return "\n".join([*lines, "", self._body(cached)]), mentions

    def _edited_text(self, event: MessageEdited, cached: CachedContent) -> tuple[str, list[str]]:
        lines = [
            _("✏️ Edited message"),
            _("From: %(who)s, sent %(sent)s, edited %(at)s")
            % {"who": mention(cached.sender), "sent": _when(cached.sent_at), "at": _when(event.timestamp)},
            "",
            _("Before: %(text)s") % {"text": self._body(cached)},
            _("After: %(text)s") % {"text": event.text[:MAX_TEXT]},
        ]
        return "\n".join(lines), [cached.sender]
