"""Variables of the sticker commands: the pack name and author stickers carry, and the download cap.

Imported by ``blacksky_site.config`` (joined into ``VARIABLES``); read through ``settings`` by the
bot child's sticker commands and by media_cdn's ingest (the sticker rendition's pack).
"""

from __future__ import annotations

from blacksky_site.config_parsers import parse_text, parse_whole_between
from blacksky_site.variables import Variable

STICKERS: tuple[Variable, ...] = (
    Variable(
        "STICKER_PACK",
        parse_text(0, 128),
        "BLACKSKY-MD",
        "Pack name WhatsApp shows on the stickers the bot makes; each user may set their own (`.stickerpack`).",
    ),
    Variable(
        "STICKER_AUTHOR",
        parse_text(0, 128),
        "",
        "Author shown on the stickers the bot makes; empty = the WhatsApp name of whoever asked.",
    ),
    Variable(
        "STICKER_MAX_DOWNLOAD_MB",
        parse_whole_between(1, 64, "MB"),
        "16",
        "Largest image, GIF or video the sticker commands download (larger ones are refused before fetching).",
    ),
)
