"""WebP containers read and rewritten without decoding: canvas, frames, duration and the sticker-pack EXIF.

Imported by ``media_cdn.sticker`` (ingest in the web/release processes, and the bot child's sticker
commands). Pure bytes, no Pillow and no ffmpeg: a sticker is re-tagged (``.take``) without being
re-encoded, and a hostile file's frame count and canvas are known before anything decodes it.

WhatsApp reads a sticker's pack from the EXIF chunk: a little-endian TIFF header with one IFD entry,
tag 0x5741, type UNDEFINED, whose value is a JSON object (``sticker-pack-id``,
``sticker-pack-name``, ``sticker-pack-publisher``, ``emojis``) starting at offset 22. That is the
layout WhatsApp's own stickers and the common sticker makers write.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

PACK_TEXT_MAX = 128  # characters of a pack name or author; WhatsApp's own pack editor allows fewer
_EXIF_TAG = 0x5741
_EXIF_HEAD = b"II*\x00\x08\x00\x00\x00\x01\x00"
_EXIF_JSON_OFFSET = 22
_FLAG_ANIMATION, _FLAG_EXIF, _FLAG_ALPHA = 0x02, 0x08, 0x10
MAX_CHUNKS = 100_000  # a file of more chunks than this is refused (hostile, never a sticker)


class WebPError(ValueError):
    """Not a WebP container, or a broken one."""


@dataclass(frozen=True)
class WebPInfo:
    """What the container says, nothing decoded."""

    width: int
    height: int
    frames: int
    duration_ms: int  # the sum of the frame durations (0 for a still image)
    animated: bool
    has_exif: bool


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise WebPError("not a WebP file (no RIFF/WEBP header)")
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    chunks: list[tuple[bytes, bytes]] = []
    at = 12
    while at + 8 <= end:
        fourcc, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        if at + 8 + size > end:
            raise WebPError(f"chunk {fourcc!r} runs past the end of the file")
        chunks.append((fourcc, data[at + 8 : at + 8 + size]))
        if len(chunks) > MAX_CHUNKS:
            raise WebPError(f"more than {MAX_CHUNKS} chunks")
        at += 8 + size + (size & 1)
    if not chunks:
        raise WebPError("a WebP file without image data")
    return chunks


def _u24(raw: bytes) -> int:
    return raw[0] | raw[1] << 8 | raw[2] << 16


def _simple_size(fourcc: bytes, payload: bytes) -> tuple[int, int, bool]:
    """Width, height and alpha of a one-image (VP8 or VP8L) file, from its bitstream header."""
    if fourcc == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    if fourcc == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    raise WebPError(f"unreadable image chunk {fourcc!r}")


def webp_info(data: bytes) -> WebPInfo:
    """Canvas, frame count and duration of a WebP file, read from its chunks."""
    chunks = _chunks(data)
    fourcc, payload = chunks[0]
    has_exif = any(c == b"EXIF" for c, _ in chunks)
    if fourcc != b"VP8X":
        width, height, _alpha = _simple_size(fourcc, payload)
        return WebPInfo(width, height, 1, 0, False, has_exif)
    if len(payload) < 10:
        raise WebPError("VP8X chunk too short")
    width, height = _u24(payload[4:7]) + 1, _u24(payload[7:10]) + 1
    frames = [p for c, p in chunks if c == b"ANMF"]
    if not frames:
        return WebPInfo(width, height, 1, 0, False, has_exif)
    duration = sum(_u24(p[12:15]) for p in frames if len(p) >= 16)
    return WebPInfo(width, height, len(frames), duration, bool(payload[0] & _FLAG_ANIMATION), has_exif)


def pack_json(*, pack: str, author: str, pack_id: str, emojis: tuple[str, ...] = ()) -> bytes:
    """The JSON WhatsApp shows as the sticker's pack and author (each at most ``PACK_TEXT_MAX`` characters)."""
    for label, text in (("pack name", pack), ("author", author)):
        if len(text) > PACK_TEXT_MAX:
            raise ValueError(f"the {label} has {len(text)} characters (at most {PACK_TEXT_MAX})")
    payload = {
        "sticker-pack-id": pack_id,
        "sticker-pack-name": pack,
        "sticker-pack-publisher": author,
        "emojis": list(emojis),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def pack_exif(*, pack: str, author: str, pack_id: str, emojis: tuple[str, ...] = ()) -> bytes:
    """The EXIF chunk's payload: the TIFF header, one entry (tag 0x5741) and the JSON."""
    body = pack_json(pack=pack, author=author, pack_id=pack_id, emojis=emojis)
    entry = struct.pack("<HHII", _EXIF_TAG, 7, len(body), _EXIF_JSON_OFFSET)
    return _EXIF_HEAD + entry + body


def exif_pack(exif: bytes) -> dict | None:
    """The pack JSON of an EXIF payload written as WhatsApp writes it, or None."""
    if len(exif) < _EXIF_JSON_OFFSET or exif[:4] != b"II*\x00":
        return None
    ifd = struct.unpack("<I", exif[4:8])[0]
    if ifd + 2 > len(exif):
        return None
    (count,) = struct.unpack("<H", exif[ifd : ifd + 2])
    for n in range(min(count, 64)):
        at = ifd + 2 + 12 * n
        if at + 12 > len(exif):
            return None
        tag, _type, length, offset = struct.unpack("<HHII", exif[at : at + 12])
        if tag == _EXIF_TAG and offset + length <= len(exif):
            try:
                value = json.loads(exif[offset : offset + length].decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return None
            return value if isinstance(value, dict) else None
    return None


def webp_pack(data: bytes) -> dict | None:
    """The sticker-pack JSON of a WebP file (None without one)."""
    for fourcc, payload in _chunks(data):
        if fourcc == b"EXIF":
            return exif_pack(payload)
    return None


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")


def webp_with_exif(data: bytes, exif: bytes) -> bytes:
    """``data`` with its EXIF chunk replaced by ``exif`` (the image chunks copied as they are).

    A one-image file (VP8/VP8L) gets the VP8X header the EXIF chunk needs, with its canvas and alpha.
    """
    chunks = [(c, p) for c, p in _chunks(data) if c != b"EXIF"]
    fourcc, payload = chunks[0]
    if fourcc == b"VP8X":
        header = bytearray(payload)
        header[0] |= _FLAG_EXIF
        chunks[0] = (b"VP8X", bytes(header))
    else:
        width, height, alpha = _simple_size(fourcc, payload)
        flags = _FLAG_EXIF | (_FLAG_ALPHA if alpha else 0)
        vp8x = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", vp8x))
    body = b"WEBP" + b"".join(_chunk(c, p) for c, p in chunks) + _chunk(b"EXIF", exif)
    return b"RIFF" + struct.pack("<I", len(body)) + body
