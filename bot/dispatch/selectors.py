"""Reads of the chat-side state (settings, bans, group options, warnings)."""

from __future__ import annotations

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


def group_settings_all(*, session_name: str) -> dict[str, tuple[bool, bool]]:
    """chat -> (welcome, antilink) for every group the bot knows."""
    rows = GroupSettings.objects.filter(session_name=session_name).values_list("chat", "welcome", "antilink")
    return {chat: (welcome, antilink) for chat, welcome, antilink in rows}


def known_groups(*, session_name: str) -> list[str]:
    return list(GroupSettings.objects.filter(session_name=session_name).order_by("chat").values_list("chat", flat=True))


def warnings_count(*, session_name: str, chat: str, user: str) -> int:
    return Warning.objects.filter(session_name=session_name, chat=chat, user=user).count()


def warnings_list(*, session_name: str, chat: str, user: str | None = None) -> list[Warning]:
    qs = Warning.objects.filter(session_name=session_name, chat=chat)
    if user is not None:
        qs = qs.filter(user=user)
    return list(qs.order_by("at"))


def chat_languages(*, session_name: str) -> dict[str, str]:
    """chat -> language code, for the chats that chose one with ``.lang``."""
    return dict(ChatLanguage.objects.filter(session_name=session_name).values_list("chat", "language"))
