"""Keyword filters (the bot child's router): a word or phrase in a message gets a stored reply.

Matching is on whole words, case- and accent-insensitive (``Café`` matches ``cafe``), in linear time:
the message is folded into words once and each filter is a sequence of up to ``MAX_WORDS`` words looked
up in the message's word n-grams, so no user text ever becomes a regular expression. A filter never
answers the bot's own messages, answers a keyword in a chat at most once per ``KEYWORD_COOLDOWN`` and
the chat at most once per ``CHAT_COOLDOWN``, so two bots or a spammer cannot make it flood.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from bot.models import KeywordFilter

MIN_CHARS = 2
MAX_CHARS = 64
MAX_WORDS = 5
MAX_REPLY = 1000
MAX_PER_CHAT = 50
MAX_TEXT = 4096  # a longer message is matched on its first 4,096 characters
KEYWORD_COOLDOWN = 60.0
CHAT_COOLDOWN = 5.0
CACHE_SECONDS = 10.0


class FilterRefused(ValueError):
    """A keyword or reply the bot will not store; the text is the reply to the user."""


def words(text: str) -> list[str]:
    """Case- and accent-folded words: letters and digits; everything else separates."""
    folded = unicodedata.normalize("NFKD", text[:MAX_TEXT]).casefold()
    kept = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    return kept.split()


def keyword_normalize(raw: str) -> str:
    """The stored form of a keyword, or FilterRefused saying why not."""
    found = words(raw)
    keyword = " ".join(found)
    if len(keyword) < MIN_CHARS:
        raise FilterRefused(_("A filter keyword needs at least %(n)d letters or digits.") % {"n": MIN_CHARS})
    if len(keyword) > MAX_CHARS or len(found) > MAX_WORDS:
        raise FilterRefused(
            _("A filter keyword may have at most %(words)d words and %(chars)d characters.")
            % {"words": MAX_WORDS, "chars": MAX_CHARS}
        )
    return keyword


def reply_check(reply: str) -> str:
    reply = reply.strip()
    if not reply:
        raise FilterRefused(_("A filter needs a reply text."))
    if len(reply) > MAX_REPLY:
        raise FilterRefused(_("A filter reply may have at most %(n)d characters.") % {"n": MAX_REPLY})
    return reply


def filter_create(*, session_name: str, chat: str, keyword: str, reply: str, created_by: str) -> str:
    """Store (or replace) a filter; returns its normalised keyword. Nothing is stored when refused."""
    keyword = keyword_normalize(keyword)
    reply = reply_check(reply)
    with transaction.atomic():
        rows = KeywordFilter.objects.filter(session_name=session_name, chat=chat)
        exists = rows.filter(keyword=keyword).exists()
        if not exists and rows.count() >= MAX_PER_CHAT:
            raise FilterRefused(_("This chat already has %(n)d filters; delete one first.") % {"n": MAX_PER_CHAT})
        KeywordFilter.objects.update_or_create(
            session_name=session_name, chat=chat, keyword=keyword, defaults={"reply": reply, "created_by": created_by}
        )
    return keyword


def filter_delete(*, session_name: str, chat: str, keyword: str) -> bool:
    try:
        keyword = keyword_normalize(keyword)
    except FilterRefused:
        return False
    deleted, _ = KeywordFilter.objects.filter(session_name=session_name, chat=chat, keyword=keyword).delete()
    return bool(deleted)


def filters_of(*, session_name: str, chat: str) -> list[tuple[str, str]]:
    rows = KeywordFilter.objects.filter(session_name=session_name, chat=chat).order_by("keyword")
    return list(rows.values_list("keyword", "reply"))


@dataclass
class _Cached:
    read_at: float
    filters: list[tuple[tuple[str, ...], str]]


class FilterBook:
    """The filters of each chat (its own and the global ones), cached briefly, and their cooldowns."""

    def __init__(self, *, session_name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.session_name = session_name
        self.clock = clock
        self._cache: dict[str, _Cached] = {}
        self._answered: dict[tuple[str, str], float] = {}
        self._chat_answered: dict[str, float] = {}
        self._lock = threading.Lock()

    def changed(self, chat: str) -> None:
        """A filter was added or deleted in ``chat`` (``""``: a global one): read again on the next message."""
        with self._lock:
            if chat:
                self._cache.pop(chat, None)
            else:
                self._cache.clear()

    def _filters(self, chat: str) -> list[tuple[tuple[str, ...], str]]:
        now = self.clock()
        cached = self._cache.get(chat)
        if cached is None or now - cached.read_at > CACHE_SECONDS:
            rows = KeywordFilter.objects.filter(session_name=self.session_name, chat__in=[chat, ""]).order_by("-chat")
            seen: set[str] = set()
            found = []
            for keyword, reply in rows.values_list("keyword", "reply"):
                if keyword not in seen:  # the chat's own filter wins over a global one with that keyword
                    seen.add(keyword)
                    found.append((tuple(keyword.split()), reply))
            cached = _Cached(now, found)
            with self._lock:
                if len(self._cache) > 5_000:
                    self._cache.clear()
                self._cache[chat] = cached
        return cached.filters

    def match(self, *, chat: str, text: str, from_me: bool) -> str | None:
        """The reply of the first filter whose keyword is in ``text``, unless a cooldown holds it back."""
        if from_me or not text:
            return None
        filters = self._filters(chat)
        if not filters:
            return None
        found = words(text)
        grams = {tuple(found[i : i + n]) for n in range(1, MAX_WORDS + 1) for i in range(len(found) - n + 1)}
        now = self.clock()
        with self._lock:
            if now - self._chat_answered.get(chat, -1e9) < CHAT_COOLDOWN:
                return None
            for keyword, reply in filters:
                if keyword in grams and now - self._answered.get((chat, " ".join(keyword)), -1e9) >= KEYWORD_COOLDOWN:
                    self._answered[(chat, " ".join(keyword))] = now
                    self._chat_answered[chat] = now
                    if len(self._answered) > 20_000:
                        self._answered.clear()
                    return reply
        return None
