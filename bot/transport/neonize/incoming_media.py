"""Media in incoming neonize messages: what a message carries or quotes (``MediaRef``), and its download.

Imported by the bot child only (``translate`` and the neonize transport). The reference keeps a
``waE2E.Message`` holding just the media field (URL, keys, hashes: what whatsmeow's ``DownloadAny``
needs), so the quoted message of a reply can be fetched without the original event. View-once
media gives no reference: a sticker or an image of it would keep what its sender meant to vanish.

neonize 0.5.2's ``download_any`` returns the whole file from Go in one buffer; the size the sender
declared (``fileLength``) is checked against the cap first, and what arrives is checked again and
written to the caller's temp file at once, so one file at most is held in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neonize.exc import NeonizeError
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message

from bot.transport.base import MediaDownloadError, MediaRef

_MEDIA_FIELDS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "stickerMessage": "sticker",
    "documentMessage": "document",
    "audioMessage": "audio",
}


def media_ref(inner: Message) -> MediaRef | None:
    """The media of an unwrapped message (None for text, view-once media, or media without a path)."""
    for name, kind in _MEDIA_FIELDS.items():
        if not inner.HasField(name):
            continue
        media = getattr(inner, name)
        if getattr(media, "viewOnce", False) or not (media.directPath or media.URL):
            return None
        handle = Message()
        getattr(handle, name).CopyFrom(media)
        getattr(handle, name).ClearField("contextInfo")  # the quote of a quote: not needed to download
        return MediaRef(
            kind=kind,
            mimetype=media.mimetype,
            size=int(media.fileLength),
            width=int(getattr(media, "width", 0)),
            height=int(getattr(media, "height", 0)),
            seconds=int(getattr(media, "seconds", 0)),
            animated=bool(getattr(media, "isAnimated", False) or getattr(media, "gifPlayback", False)),
            handle=handle,
        )
    return None


def view_once(message: Message) -> bool:
    """True for a message sent as view once (its wrappers say so before ``unwrap`` strips them)."""
    return any(
        message.HasField(name) for name in ("viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension")
    )


def media_download(client: Any, ref: MediaRef, *, dest: Path, max_bytes: int) -> int:
    """Fetch ``ref`` through whatsmeow (decrypted and hash-checked there) into ``dest``."""
    if ref.size > max_bytes:
        raise MediaDownloadError(f"{ref.size} bytes declared, over {max_bytes}", too_large=True)
    if not isinstance(ref.handle, Message):
        raise MediaDownloadError("not a media reference of this transport")
    try:
        data = client.download_any(ref.handle)
    except NeonizeError as exc:
        raise MediaDownloadError(f"download failed: {exc}") from exc
    if not data:
        raise MediaDownloadError("the download was empty")
    if len(data) > max_bytes:
        raise MediaDownloadError(f"{len(data)} bytes arrived, over {max_bytes}", too_large=True)
    try:
        dest.write_bytes(data)
    except OSError as exc:
        raise MediaDownloadError(f"cannot write the download: {exc.strerror or exc}") from exc
    return len(data)
