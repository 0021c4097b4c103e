"""Antimention: @everyone-style abuse, a message mentioning at least ``threshold`` different members."""

from __future__ import annotations

from collections.abc import Iterable

from bot.transport.base import jid_user


def mass_mention_hit(mentions: Iterable[str], *, threshold: int) -> int:
    """How many different members ``mentions`` names, when that reaches ``threshold`` (else 0)."""
    distinct = {jid_user(m) for m in mentions if m}
    return len(distinct) if len(distinct) >= threshold else 0
