"""Variables of the message history features (anti-delete, anti-edit): how long and how much is kept.

Imported by ``blacksky_site.config``; read by the bot child (``bot.message_cache``) and the
retention task.
"""

from __future__ import annotations

from blacksky_site.config_parsers import parse_whole_between
from blacksky_site.variables import Variable

HISTORY: tuple[Variable, ...] = (
    Variable(
        "ANTIDELETE_TTL_HOURS",
        parse_whole_between(1, 168, "hours"),
        "24",
        "Hours a message of a chat with anti-delete or anti-edit on is kept (encrypted) so a delete or an edit "
        "can show it again; older ones are purged.",
    ),
    Variable(
        "ANTIDELETE_MAX_PER_CHAT",
        parse_whole_between(10, 100_000, "messages"),
        "1000",
        "Messages kept per chat for anti-delete and anti-edit; the oldest go first.",
    ),
    Variable(
        "ANTIDELETE_MAX_PER_SESSION",
        parse_whole_between(100, 1_000_000, "messages"),
        "20000",
        "Messages kept per session (all chats together) for anti-delete and anti-edit; the oldest go first.",
    ),
)
