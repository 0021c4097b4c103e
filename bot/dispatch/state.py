"""``ChatState``: the persisted switches the router reads on every message, cached in memory.

Maintenance mode, banned users, per-group options (welcome; the moderation rules are
``bot.dispatch.rulebook``'s) and chat languages live in the database (they must survive restarts) but the router must not query it per message. The prefix, the owners and
the session's language are runtime settings (``bot.runtime_settings``, its own short cache). The cache reloads every ``ttl``
seconds (so a change made in the admin lands soon) and is updated at once by the commands that
change it, through the ``set_*`` methods here (database first, then memory). A failed reload keeps
the previous values and logs one line: the bot goes on answering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot import runtime_settings
from bot.dispatch import selectors, services
from bot.dispatch.reloading import ReloadsWhenStale

log = logging.getLogger(__name__)

MAINTENANCE_KEY = "maintenance"


class ChatState(ReloadsWhenStale):
    def __init__(
        self,
        *,
        session_name: str,
        default_prefix: str,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = 30.0,
    ) -> None:
        self.session_name = session_name
        self.default_prefix = default_prefix
        self.clock = clock
        self.ttl = ttl
        self.maintenance = False
        self.banned: frozenset[str] = frozenset()
        self.groups: dict[str, bool] = {}  # chat -> welcome
        self.languages: dict[str, str] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def reload(self) -> None:
        try:
            values = selectors.settings_all(session_name=self.session_name)
            banned = selectors.banned_phones(session_name=self.session_name)
            groups = selectors.group_settings_all(session_name=self.session_name)
            languages = selectors.chat_languages(session_name=self.session_name)
        except Exception as exc:
            log.warning("chat state reload failed, keeping the previous values", extra={"error": str(exc)})
            self._loaded_at = self.clock()
            return
        self.maintenance = bool(values.get(MAINTENANCE_KEY, False))
        self.banned = frozenset(banned)
        self.groups = groups
        self.languages = languages
        self._loaded_at = self.clock()

    # -- reads ----------------------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """BOT_PREFIX for this session (``.setprefix`` and ``.setvar`` change it)."""
        value = runtime_settings.runtime_value("BOT_PREFIX", session=self.session_name)
        return value if isinstance(value, str) and value else self.default_prefix

    def language(self, chat: str) -> str:
        """The chat's own language (``.lang``), else the session's BOT_LANG."""
        self.refresh_if_stale()
        return self.languages.get(chat) or runtime_settings.runtime_value("BOT_LANG", session=self.session_name)

    def is_banned(self, user_key: str) -> bool:
        return user_key in self.banned

    def welcome(self, chat: str) -> bool:
        return self.groups.get(chat, False)

    def knows_group(self, chat: str) -> bool:
        return chat in self.groups

    # -- writes (database, then memory) ---------------------------------------------------------------
    def set_prefix(self, prefix: str, *, set_by: str = "") -> None:
        runtime_settings.runtime_set(session=self.session_name, typed="BOT_PREFIX", raw=prefix, set_by=set_by)

    def set_language(self, chat: str, language: str | None, *, set_by: str = "") -> None:
        """A chat's language (a code of ``settings.LANGUAGES``), or None to follow BOT_LANG again."""
        services.chat_language_set(session_name=self.session_name, chat=chat, language=language, set_by=set_by)
        self.languages = {k: v for k, v in self.languages.items() if k != chat} | ({chat: language} if language else {})

    def set_maintenance(self, on: bool) -> None:
        services.setting_set(session_name=self.session_name, key=MAINTENANCE_KEY, value=on)
        self.maintenance = on

    def ban(self, user_key: str, *, reason: str = "", banned_by: str = "") -> bool:
        created = services.ban_create(
            session_name=self.session_name, phone=user_key, reason=reason, banned_by=banned_by
        )
        self.banned = self.banned | {user_key}
        return created

    def unban(self, user_key: str) -> bool:
        deleted = services.ban_delete(session_name=self.session_name, phone=user_key)
        self.banned = self.banned - {user_key}
        return deleted

    def set_group(self, chat: str, *, welcome: bool) -> None:
        row = services.group_settings_update(session_name=self.session_name, chat=chat, welcome=welcome)
        self.groups = {**self.groups, chat: row.welcome}

    def remember_group(self, chat: str) -> None:
        """First message seen from a group in this process: make sure it has a settings row."""
        if chat in self.groups:
            return
        try:
            services.group_seen(session_name=self.session_name, chat=chat)
        except Exception as exc:
            log.warning("could not record group", extra={"chat": chat, "error": str(exc)})
            return
        self.groups = {**self.groups, chat: self.groups.get(chat, False)}

    def forget_group(self, chat: str) -> None:
        services.group_forget(session_name=self.session_name, chat=chat)
        self.groups = {k: v for k, v in self.groups.items() if k != chat}
