"""Media the bot made for a reply (a sticker, a picture, a video): stored beside the reply, loaded to send it.

Imported in the bot child by the sticker commands (``made_media_store``) and by
``bot.dispatch.outbound`` (``made_media_load`` before the send, ``made_media_forget`` after it),
and by ``bot.retention`` (``made_media_prune``). The outbox stores a reply's fields, never bytes:
a made file is a ``MadeMedia`` row the reply names by ``asset`` = ``made:<id>``, so a child that
restarts before sending still sends it. A row lives until its reply is sent, or at most the
outbox's age limit and an hour (then the reply expired anyway).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings

from bot.models import MadeMedia
from media_cdn.media import Media

logger = logging.getLogger(__name__)

MADE_PREFIX = "made:"
MADE_MAX_BYTES = 4 * 1024 * 1024  # a made sticker is <= 500 KB, a picture or a video a little more


def is_made(asset: str) -> bool:
    return asset.startswith(MADE_PREFIX)


def made_media_store(*, session_name: str, kind: str, media: Media) -> str:
    """Keep ``media`` for one reply of ``kind``; returns the ``asset`` the reply names it by."""
    if not media.data or len(media.data) > MADE_MAX_BYTES:
        raise ValueError(f"made media of {len(media.data)} bytes (1 to {MADE_MAX_BYTES})")
    row = MadeMedia.objects.create(
        session_name=session_name,
        kind=kind,
        mimetype=media.mimetype,
        sha256=media.sha256 or hashlib.sha256(media.data).hexdigest(),
        data=media.data,
        width=media.width,
        height=media.height,
        duration_seconds=media.duration_seconds,
    )
    return f"{MADE_PREFIX}{row.pk}"


def _pk(asset: str) -> int | None:
    number = asset[len(MADE_PREFIX) :] if is_made(asset) else ""
    return int(number) if number.isascii() and number.isdigit() and len(number) < 19 else None


def made_media_load(asset: str) -> Media | None:
    """The media a reply names, checked against its checksum; None when it is gone or damaged."""
    pk = _pk(asset)
    row = MadeMedia.objects.filter(pk=pk).first() if pk is not None else None
    if row is None:
        return None
    data = bytes(row.data)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        logger.warning("made media damaged", extra={"asset": asset, "bytes": len(data)})
        return None
    return Media(
        data=data,
        mimetype=row.mimetype,
        sha256=row.sha256,
        width=row.width,
        height=row.height,
        duration_seconds=row.duration_seconds,
        asset=asset,
    )


def made_media_forget(asset: str) -> int:
    """Delete the row of a reply that was sent; returns how many rows went (0 or 1)."""
    pk = _pk(asset)
    return MadeMedia.objects.filter(pk=pk).delete()[0] if pk is not None else 0


def made_media_prune(*, now: datetime) -> dict[str, int]:
    """Rows older than the outbox's age limit and an hour: their replies were sent or expired."""
    cutoff = now - timedelta(seconds=settings.OUTBOX_MAX_AGE_SECONDS) - timedelta(hours=1)
    deleted, _ = MadeMedia.objects.filter(created_at__lt=cutoff).delete()
    return {"made_media": deleted}
