"""What the bot runtime records: connection history, live status, per-minute stats, operator
controls, the outbox, the settings owners change from the chat (runtime.py), the chat-side state commands
persist (settings, bans, group options, warnings), greetings, scheduled messages with their occurrences,
and the message history of anti-delete and anti-edit (encrypted), moderation (rules, warn policies, the log),
the sticker commands' preferences and made media, and who called or is away (presence.py).

The web dyno and the worker share only the database, so everything an operator sees or asks for
goes through these tables. One module per concern; every model is importable from ``bot.models``.
A new concern gets a module of its own and a line below.
"""

from bot.models.activity import KeywordFilter, MemberActivity
from bot.models.chat import BannedUser, BotSetting, GroupSettings, ReactionCommand, Warning
from bot.models.connection import (
    BotStatus,
    ConnectionEvent,
    ConnectionState,
    MessageStat,
    PhoneWatch,
    ReconnectEvent,
    ReconnectHour,
)
from bot.models.control import ControlCommand, WebhookDelivery
from bot.models.greetings import GreetingSettings
from bot.models.history import CachedMessage, ChatHistorySetting
from bot.models.moderation import ModerationLog, ModerationRule, WarnPolicy
from bot.models.outbox import HandledMessage, OutboxItem
from bot.models.packs import CommandPackChat
from bot.models.presence import AwayStatus, CallNotice
from bot.models.runtime import ChatLanguage, RuntimeSetting
from bot.models.schedule import ChatTimeZone, PendingOccurrence, ScheduledMessage, ScheduleOccurrence
from bot.models.stickers import MadeMedia, StickerPreference

__all__ = [
    "KeywordFilter",
    "MemberActivity",
    "AwayStatus",
    "BannedUser",
    "BotSetting",
    "BotStatus",
    "CallNotice",
    "ChatTimeZone",
    "CachedMessage",
    "ChatHistorySetting",
    "ChatLanguage",
    "CommandPackChat",
    "ConnectionEvent",
    "ConnectionState",
    "ControlCommand",
    "GreetingSettings",
    "GroupSettings",
    "HandledMessage",
    "MadeMedia",
    "MessageStat",
    "ModerationLog",
    "ModerationRule",
    "OutboxItem",
    "PendingOccurrence",
    "PhoneWatch",
    "ReactionCommand",
    "ReconnectEvent",
    "ReconnectHour",
    "ScheduleOccurrence",
    "ScheduledMessage",
    "RuntimeSetting",
    "StickerPreference",
    "WarnPolicy",
    "Warning",
    "WebhookDelivery",
]
