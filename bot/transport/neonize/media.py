"""Build WhatsApp media messages from ``Media`` without ffmpeg or ffprobe.

neonize's ``send_video`` runs ffprobe (duration) and ffmpeg (thumbnail) on every send, and its
``send_sticker`` re-encodes animated input with ffmpeg. Our renditions already carry their
duration, dimensions, size, checksum and thumbnail from ingest (``media_cdn.pipeline``), so here we
only upload the bytes (whatsmeow encrypts them) and fill the message proto ourselves. A worker
dyno then needs no ffmpeg at all to send reaction GIFs.

Imports neonize: only the bot child process uses this module.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Literal

from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    ContextInfo,
    ImageMessage,
    Message,
    StickerMessage,
    VideoMessage,
)
from neonize.utils.enum import MediaType

from bot.transport.base import Media

MediaKind = Literal["video", "image", "sticker"]

_UPLOAD_TYPE = {"video": MediaType.MediaVideo, "image": MediaType.MediaImage, "sticker": MediaType.MediaImage}


def _context(mentions: Sequence[str], context: ContextInfo | None) -> ContextInfo:
    info = ContextInfo(mentionedJID=list(mentions))
    if context is not None:
        info.MergeFrom(context)
    return info


def media_message_build(
    client: Any,
    media: Media,
    *,
    kind: MediaKind,
    caption: str = "",
    mentions: Sequence[str] = (),
    context: ContextInfo | None = None,
    now: float | None = None,
) -> Message:
    """Upload ``media.data`` through ``client`` and return the ``waE2E.Message`` to send.

    ``mentions`` are full JIDs ('155...@s.whatsapp.net' or '...@lid'); the caption should contain
    the matching '@<user>' text. ``context`` (quote, etc.) is merged into the message's contextInfo.
    Raises neonize's UploadError when the upload fails.
    """
    if kind not in _UPLOAD_TYPE:
        raise ValueError(f"kind must be video, image or sticker, not {kind!r}")
    if not media.data:
        raise ValueError("media has no bytes")
    upload = client.upload(media.data, _UPLOAD_TYPE[kind])
    stamp = int(now if now is not None else time.time())
    common = {
        "URL": upload.url,
        "directPath": upload.DirectPath,
        "mediaKey": upload.MediaKey,
        "fileEncSHA256": upload.FileEncSHA256,
        "fileSHA256": upload.FileSHA256,
        "fileLength": upload.FileLength or len(media.data),
        "mimetype": media.mimetype,
        "mediaKeyTimestamp": stamp,
    }
    if media.width and media.height:
        common["width"] = media.width
        common["height"] = media.height
    if kind == "video":
        video = VideoMessage(
            **common,
            seconds=max(1, math.ceil(media.duration_seconds)) if media.duration_seconds else 0,
            gifPlayback=media.gif_playback,
            contextInfo=_context(mentions, context),
        )
        if caption:
            video.caption = caption
        if media.thumbnail_jpeg:
            video.JPEGThumbnail = media.thumbnail_jpeg
        if media.gif_playback:
            video.gifAttribution = VideoMessage.Attribution.NONE
        return Message(videoMessage=video)
    if kind == "image":
        image = ImageMessage(**common, contextInfo=_context(mentions, context))
        if caption:
            image.caption = caption
        if media.thumbnail_jpeg:
            image.JPEGThumbnail = media.thumbnail_jpeg
        return Message(imageMessage=image)
    # What WhatsApp's own clients fill in: a sticker made by the bot is neither an avatar, an AI nor a
    # Lottie sticker; an animated one plays (duration > 0), a still one is shown as it is.
    sticker = StickerMessage(
        **common,
        isAnimated=media.mimetype == "image/webp" and media.duration_seconds > 0,
        stickerSentTS=int(now * 1000) if now is not None else int(time.time() * 1000),
        isAvatar=False,
        isAiSticker=False,
        isLottie=False,
        contextInfo=_context(mentions, context),
    )
    return Message(stickerMessage=sticker)


def media_send(
    client: Any,
    to: Any,
    media: Media,
    *,
    kind: MediaKind,
    caption: str = "",
    mentions: Sequence[str] = (),
    context: ContextInfo | None = None,
) -> Any:
    """Build and send in one call; returns neonize's SendResponse."""
    message = media_message_build(client, media, kind=kind, caption=caption, mentions=mentions, context=context)
    return client.send_message(to, message)
