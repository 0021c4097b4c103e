"""Media in the console transport: files named on an input line, and how every outgoing action prints.

Imported by ``bot.transport.console`` only. An input line may carry ``"media": {"path": FILE,
"mimetype": TYPE}`` (the media of that message, e.g. an image captioned ``.sticker``) or
``"quoted_media": {...}`` (the media of the message it replies to); the file is read when a command
downloads it, with the same size cap a WhatsApp download has. Each outgoing action prints as one JSON
object; a media action, or any kind this module does not know yet (a poll...), carries its
``mimetype``, ``bytes`` and ``sha256``: of its media, or (a kind without media) of its text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from bot.transport.base import MediaDownloadError, MediaRef, Reply

MEDIA_FIELDS = ("media", "quoted_media")
MEDIA_REPLY_KINDS = frozenset({"video", "image", "sticker"})
CLASSIC_KINDS = frozenset({"text", "reaction", "group", "delete"})  # printed without mimetype/bytes/sha256
_CHUNK = 64 * 1024


class ConsoleMediaError(ValueError):
    """A media field that names no readable file or has the wrong shape (the line is skipped)."""


def _kind(mimetype: str) -> str:
    if mimetype == "image/webp":
        return "sticker"
    family = mimetype.split("/", 1)[0]
    return family if family in {"image", "video", "audio"} else "document"


def media_ref_parse(value: Any, *, name: str) -> MediaRef:
    """``{"path": FILE, "mimetype": TYPE}`` -> a MediaRef whose handle is the file's path."""
    if not isinstance(value, dict) or set(value) - {"path", "mimetype"} or not isinstance(value.get("path"), str):
        raise ConsoleMediaError(f"'{name}' must be an object with 'path' (a file) and 'mimetype'")
    mimetype = value.get("mimetype") or "application/octet-stream"
    if not isinstance(mimetype, str) or "/" not in mimetype or len(mimetype) > 100:
        raise ConsoleMediaError(f"'{name}.mimetype' must be a MIME type such as image/png")
    path = Path(value["path"]).expanduser()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConsoleMediaError(f"'{name}.path' {str(path)[:120]!r}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ConsoleMediaError(f"'{name}.path' {str(path)[:120]!r} is not a file")
    kind = _kind(mimetype)
    animated = False
    if kind == "sticker" and size <= 1024 * 1024:
        from media_cdn.webp_meta import WebPError, webp_info

        try:
            animated = webp_info(path.read_bytes()).animated
        except WebPError:
            animated = False  # a broken sticker: the command that fetches it says so
    return MediaRef(kind=kind, mimetype=mimetype, size=size, animated=animated, handle=path.resolve())


def media_copy(ref: MediaRef, *, dest: Path, max_bytes: int) -> int:
    """``download_media`` of the console: copy the named file, refusing it past ``max_bytes``."""
    if not isinstance(ref.handle, Path):
        raise MediaDownloadError("not a media reference of the console")
    written = 0
    try:
        with ref.handle.open("rb") as source, dest.open("wb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise MediaDownloadError(f"over {max_bytes} bytes", too_large=True)
                out.write(chunk)
    except OSError as exc:
        raise MediaDownloadError(f"cannot read {ref.handle.name}: {exc.strerror or exc}") from exc
    return written


def _media_fields(reply: Reply) -> dict[str, Any]:
    media = reply.media
    data = media.data if media is not None else b""
    return {
        "mimetype": media.mimetype if media is not None else "",
        "bytes": len(data),
        "sha256": media.sha256 if media is not None and media.sha256 else hashlib.sha256(data).hexdigest(),
    }


def reply_render(reply: Reply) -> dict[str, Any]:
    """The JSON object printed for one action."""
    line: dict[str, Any] = {"chat": reply.chat, "kind": reply.kind}
    media = reply.media
    if reply.kind in MEDIA_REPLY_KINDS:
        line.update(
            caption=reply.text,
            mentions=list(reply.mentions),
            reply_to=reply.reply_to,
            gif_playback=bool(reply.gif_playback or (media.gif_playback if media else False)),
            **_media_fields(reply),
            asset=reply.asset or (media.asset if media is not None else ""),
        )
    elif reply.kind == "reaction":
        line.update(text=reply.emoji, mentions=[], reply_to=reply.reply_to, target=reply.target)
    elif reply.kind == "group":
        line.update(
            text=reply.text,
            mentions=list(reply.mentions),
            reply_to=reply.reply_to,
            action=reply.action,
            targets=list(reply.targets),
        )
    elif reply.kind == "delete":
        line.update(text="", mentions=[], reply_to=reply.reply_to, target=reply.target)
    elif reply.kind == "poll":
        line.update(text=reply.text, options=list(reply.options), mentions=[], reply_to=reply.reply_to)
        line.update(_text_fields(reply))
    else:
        line.update(text=reply.text, mentions=list(reply.mentions), reply_to=reply.reply_to)
        if reply.kind not in CLASSIC_KINDS:  # a kind added later (a poll, ...): what it would send
            line.update(_media_fields(reply) if media is not None else _text_fields(reply))
    return line


def _text_fields(reply: Reply) -> dict[str, Any]:
    """A kind without media: its content is its text, and a poll's options one a line after it."""
    options = tuple(getattr(reply, "options", ()) or ())
    data = "\n".join((reply.text, *options)).encode("utf-8")
    return {"mimetype": "text/plain", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
