"""Moderation rules as pure functions, one module per rule; imported by the moderator in the bot child.

Each rule answers one question about one message or join (is this a link off the allow-list, a
flood, a bad word, a number from a refused country, another bot, a mass mention) and knows
nothing of the database or the transport; ``actions.decide`` turns a hit into what the bot does.
Their tables of cases are in tests/bot/test_moderation_rules.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RuleConfig:
    """One rule of one group as the moderator reads it (from ``ModerationRule`` rows)."""

    rule: str
    enabled: bool = False
    action: str = "warn"
    allow: frozenset[str] = frozenset()
    block: frozenset[str] = frozenset()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """A rule found something: which rule, a short why for the log, and whether a flood goes on."""

    rule: str
    why: str
    ongoing: bool = False  # a flood the bot already acted on: its later messages are only deleted
