"""The sizes media_cdn accepts and produces, and the errors for what falls outside them.

Shared by ingest (``pipeline``), conversion (``convert``) and the bot child's ``resolver``, which
caps every download at the size ingest would accept; a module of its own so none of them imports
another for a number. Imports nothing, so the bot child pays nothing for it.
"""

from __future__ import annotations

MAX_GIF_BYTES = 15 * 1024 * 1024  # originals above this are refused
MP4_MAX_BYTES = 1_000_000  # "under 1 MB": WhatsApp shows and autoplays these without a tap
STICKER_MAX_BYTES = 500 * 1024  # WhatsApp's limit for an animated sticker
STICKER_STATIC_MAX_BYTES = 100 * 1024  # and for a still one
STICKER_MAX_SECONDS = 10.0  # an animated sticker plays at most this long
DB_COPY_MAX_BYTES = 1024 * 1024  # renditions up to this size also keep their bytes in the database
MAX_SIDE = 4096  # refuse absurd canvases before Pillow or ffmpeg allocate them
MAX_FRAMES = 3000


class MediaError(Exception):
    """A GIF could not be ingested; the message is one line meant for the operator."""


class InvalidGifError(MediaError):
    """Not a GIF, broken, or too large."""


class ConversionError(MediaError):
    """ffmpeg failed, timed out, or could not get the output small enough."""
