"""Variables of group moderation: how many warnings remove a member, and when warnings fade.

Imported by ``blacksky_site.config``; read by the bot child's rule book (``bot.dispatch.rulebook``)
as the defaults a group's own policy (``.warn limit``, ``.warn decay``) overrides.
"""

from __future__ import annotations

from blacksky_site.config_parsers import parse_whole_between
from blacksky_site.variables import Variable

MODERATION: tuple[Variable, ...] = (
    Variable(
        "WARN_LIMIT",
        parse_whole_between(1, 100, "warnings"),
        "3",
        "Warnings that remove a group member, unless the group set its own (.warn limit N).",
    ),
    Variable(
        "WARN_DECAY_DAYS",
        parse_whole_between(0, 3650, "days"),
        "0",
        "Days after which a warning stops counting, unless the group set its own (.warn decay N); 0 = never.",
    ),
)
