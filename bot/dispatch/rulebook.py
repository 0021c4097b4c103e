"""The rule book: every group's moderation rules and warning policy, cached in the bot child's memory.

The router asks it on every group message, so it must not query the database per message: like
``ChatState`` it reloads every ``ttl`` seconds (a change made in the admin lands soon) and the
commands change it through ``rule_set``/``warn_set`` (database first, then memory). A failed reload
keeps the previous rules and logs one line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.conf import settings

from bot import moderation_settings as store
from bot.dispatch.reloading import ReloadsWhenStale
from bot.dispatch.rules import RuleConfig
from bot.models.moderation import GLOBAL_CHAT, ModerationRule, WarnPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarnSettings:
    """A group's warning policy with the defaults filled in."""

    limit: int
    template: str  # '' = the default text
    decay_days: int  # 0 = warnings never fade


def rule_config(row: ModerationRule) -> RuleConfig:
    return RuleConfig(
        rule=row.rule,
        enabled=row.enabled,
        action=row.action,
        allow=frozenset(row.allow or ()),
        block=frozenset(row.block or ()),
        options=MappingProxyType(dict(row.options or {})),
    )


class RuleBook(ReloadsWhenStale):
    def __init__(self, *, session_name: str, clock: Callable[[], float] = time.monotonic, ttl: float = 30.0) -> None:
        self.session_name = session_name
        self.clock = clock
        self.ttl = ttl
        self._rules: dict[str, dict[str, RuleConfig]] = {}
        self._warn: dict[str, WarnPolicy] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    # -- loading ------------------------------------------------------------------------------------
    def reload(self) -> None:
        try:
            rows = store.rules_all(session_name=self.session_name)
            policies = store.warn_policies_all(session_name=self.session_name)
        except Exception as exc:
            log.warning("moderation rules reload failed, keeping the previous ones", extra={"error": str(exc)})
            self._loaded_at = self.clock()
            return
        rules: dict[str, dict[str, RuleConfig]] = {}
        for row in rows:
            rules.setdefault(row.chat, {})[row.rule] = rule_config(row)
        self._rules = rules
        self._warn = {p.chat: p for p in policies}
        self._loaded_at = self.clock()

    # -- reads --------------------------------------------------------------------------------------
    def rules(self, chat: str) -> dict[str, RuleConfig]:
        """Every rule stored for the group (on or off), by name."""
        return self._rules.get(chat, {})

    def rule(self, chat: str, name: str) -> RuleConfig:
        return self.rules(chat).get(name) or RuleConfig(rule=name)

    def enabled(self, chat: str) -> dict[str, RuleConfig]:
        return {name: cfg for name, cfg in self.rules(chat).items() if cfg.enabled}

    def active(self, chat: str) -> bool:
        """Any rule on in this group (the router skips moderation, and the group fetch, otherwise)."""
        return any(cfg.enabled for cfg in self.rules(chat).values())

    def global_words(self) -> frozenset[str]:
        return self.rule(GLOBAL_CHAT, "antibadword").block

    def warn_settings(self, chat: str) -> WarnSettings:
        row = self._warn.get(chat)
        limit = row.limit if row is not None and row.limit else settings.WARN_LIMIT
        decay = row.decay_days if row is not None and row.decay_days is not None else settings.WARN_DECAY_DAYS
        return WarnSettings(limit=limit, template=row.template if row is not None else "", decay_days=decay)

    # -- writes (database, then memory) -------------------------------------------------------------
    def rule_set(self, chat: str, name: str, **changes: Any) -> RuleConfig:
        """Change one rule (``bot.moderation_settings.rule_update``'s arguments); raises SettingsError."""
        row = store.rule_update(session_name=self.session_name, chat=chat, rule=name, **changes)
        config = rule_config(row)
        with self._lock:
            self._rules = {**self._rules, chat: {**self._rules.get(chat, {}), name: config}}
        return config

    def warn_set(self, chat: str, **changes: Any) -> WarnSettings:
        row = store.warn_policy_update(session_name=self.session_name, chat=chat, **changes)
        with self._lock:
            self._warn = {**self._warn, chat: row}
        return self.warn_settings(chat)
