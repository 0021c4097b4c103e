"""Writes of the chat-side state commands change: settings, bans, group options, warnings.

Keyword-only, typed, one transaction each; the router's ``ChatState`` cache is updated by the
caller (``Router.state``) so a change takes effect on the next message without a reload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from bot.models import BannedUser, BotSetting, ChatLanguage, GroupSettings, Warning


def setting_set(*, session_name: str, key: str, value: Any) -> None:
    BotSetting.objects.update_or_create(session_name=session_name, key=key, defaults={"value": value})


def ban_create(*, session_name: str, phone: str, reason: str = "", banned_by: str = "") -> bool:
    """Ban a user (phone digits or LID user); False when they were banned already."""
    _, created = BannedUser.objects.get_or_create(
        session_name=session_name, phone=phone, defaults={"reason": reason[:255], "banned_by": banned_by[:32]}
    )
    return created


def ban_delete(*, session_name: str, phone: str) -> bool:
    deleted, _ = BannedUser.objects.filter(session_name=session_name, phone=phone).delete()
    return deleted > 0


def group_settings_update(*, session_name: str, chat: str, **fields: bool) -> GroupSettings:
    """Set ``welcome`` for a group (creating its row); moderation rules are ``bot.moderation_settings``."""
    unknown = set(fields) - {"welcome"}
    if unknown:
        raise ValueError(f"unknown group settings: {sorted(unknown)}")
    row, _ = GroupSettings.objects.update_or_create(session_name=session_name, chat=chat, defaults=fields)
    return row


def group_seen(*, session_name: str, chat: str) -> bool:
    """Record that the bot is in this group (broadcast targets); True when it is new."""
    _, created = GroupSettings.objects.get_or_create(session_name=session_name, chat=chat)
    return created


def group_forget(*, session_name: str, chat: str) -> None:
    """The bot left or was removed: no broadcasts, no settings."""
    GroupSettings.objects.filter(session_name=session_name, chat=chat).delete()


def warning_create(
    *, session_name: str, chat: str, user: str, reason: str = "", given_by: str = "", since: datetime | None = None
) -> int:
    """Add a warning; returns the member's warning count in this group afterwards (those since ``since``)."""
    with transaction.atomic():
        Warning.objects.create(
            session_name=session_name, chat=chat, user=user, reason=reason[:255], given_by=given_by[:128]
        )
        counted = Warning.objects.filter(session_name=session_name, chat=chat, user=user)
        return (counted.filter(at__gte=since) if since is not None else counted).count()


def warnings_reset(*, session_name: str, chat: str, user: str) -> int:
    """Delete a member's warnings in a group; returns how many were removed."""
    deleted, _ = Warning.objects.filter(session_name=session_name, chat=chat, user=user).delete()
    return deleted


def chat_language_set(*, session_name: str, chat: str, language: str | None, set_by: str = "") -> None:
    """A chat's own language; None removes it (the session's BOT_LANG applies again)."""
    if language is None:
        ChatLanguage.objects.filter(session_name=session_name, chat=chat).delete()
        return
    ChatLanguage.objects.update_or_create(
        session_name=session_name, chat=chat, defaults={"language": language, "set_by": set_by[:32]}
    )
