"""Reads of the chat-side state (settings, bans, group options, warnings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.models import BannedUser, BotSetting, ChatLanguage, GroupSettings, Warning


def setting_get(*, session_name: str, key: str, default: Any = None) -> Any:
    row = BotSetting.objects.filter(session_name=session_name, key=key).only("value").first()
    return default if row is None else row.value


def settings_all(*, session_name: str) -> dict[str, Any]:
    return dict(BotSetting.objects.filter(session_name=session_name).values_list("key", "value"))


def banned_phones(*, session_name: str) -> set[str]:
    return set(BannedUser.objects.filter(session_name=session_name).values_list("phone", flat=True))


def banned_list(*, session_name: str) -> list[BannedUser]:
    return list(BannedUser.objects.filter(session_name=session_name).order_by("at"))


def group_settings_all(*, session_name: str) -> dict[str, bool]:
    """chat -> welcome for every group the bot knows."""
    return dict(GroupSettings.objects.filter(session_name=session_name).values_list("chat", "welcome"))


def known_groups(*, session_name: str) -> list[str]:
    return list(GroupSettings.objects.filter(session_name=session_name).order_by("chat").values_list("chat", flat=True))


def warnings_count(*, session_name: str, chat: str, user: str) -> int:
    return Warning.objects.filter(session_name=session_name, chat=chat, user=user).count()


def warnings_list(
    *, session_name: str, chat: str, user: str | None = None, since: datetime | None = None
) -> list[Warning]:
    """A group's warnings (one member's), oldest first; only those since ``since`` (the decay) when given."""
    qs = Warning.objects.filter(session_name=session_name, chat=chat)
    if user is not None:
        qs = qs.filter(user=user)
    if since is not None:
        qs = qs.filter(at__gte=since)
    return list(qs.order_by("at"))


def chat_languages(*, session_name: str) -> dict[str, str]:
    """chat -> language code, for the chats that chose one with ``.lang``."""
    return dict(ChatLanguage.objects.filter(session_name=session_name).values_list("chat", "language"))
