"""Variables of the sticker commands: the pack name and author stickers carry, and the download cap.

Imported by ``blacksky_site.config`` (joined into ``VARIABLES``); the pack and author are
read by the bot child's sticker commands through ``bot.runtime_settings`` (an owner may set them with
``.setvar``) and through ``settings`` by media_cdn's ingest (the sticker rendition's pack).
"""

from __future__ import annotations

from blacksky_site.config_parsers import parse_text, parse_whole_between
from blacksky_site.variables import Alias, Variable, alias_part

STICKERS: tuple[Variable, ...] = (
    Variable(
        "STICKER_PACK",
        parse_text(0, 128),
        "BLACKSKY-MD",
        "Pack name WhatsApp shows on the stickers the bot makes; each user may set their own (`.stickerpack`).",
        chat=True,
        aliases=(Alias("STICKER_PACKNAME", alias_part(0), "`pack,author`: the part before the comma"),),
    ),
    Variable(
        "STICKER_AUTHOR",
        parse_text(0, 128),
        "",
        "Author shown on the stickers the bot makes; empty = the WhatsApp name of whoever asked.",
        chat=True,
        aliases=(Alias("STICKER_PACKNAME", alias_part(1), "`pack,author`: the part after the comma"),),
    ),
    Variable(
        "STICKER_MAX_DOWNLOAD_MB",
        parse_whole_between(1, 64, "MB"),
        "16",
        "Largest image, GIF or video the sticker commands download (larger ones are refused before fetching).",
    ),
)
