"""What a sticker's source is, read before anything decodes it: kind, canvas, frames, duration.

Imported by ``media_cdn.sticker`` (ingest and the bot child's sticker commands). A hostile file (a
"bomb": a huge canvas, thousands of frames, a file that claims to be a video) is refused here from
its headers alone: GIF blocks are walked without LZW decoding, WebP chunks without decoding, images
by Pillow's lazy ``open`` (which reads the header only), videos by ffmpeg's own probe.
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from media_cdn.limits import MAX_FRAMES, MAX_SIDE, ConversionError, MediaError
from media_cdn.webp_meta import WebPError, webp_info

MAX_PIXELS = MAX_SIDE * MAX_SIDE  # a canvas decoded to RGBA stays under 64 MiB
JPEG_MAX_SIDE = 4 * MAX_SIDE  # JPEG decodes at 1/2..1/8 scale (Pillow's draft), so it may be larger
PROBE_TIMEOUT = 20.0
GIF_MIN_DELAY_MS = 20  # below this browsers and ffmpeg's demuxer use 100 ms
GIF_DEFAULT_DELAY_MS = 100
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"(\d+(?:\.\d+)?) (?:fps|tbr)")
_INPUT = re.compile(r"Input #0, ([\w,]+), from")
# ffmpeg's demuxers for what phones send; any other (playlists that name other files or URLs, raw
# formats that take any bytes for pictures) is refused.
VIDEO_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "mpegts", "flv"})


class StickerError(MediaError):
    """A sticker cannot be made; ``reason`` says why in one word the command turns into a reply.

    Reasons: ``unreadable`` (corrupt or not media), ``too_large`` (canvas, pixels, frames or bytes over
    the limits), ``cannot_fit`` (still over WhatsApp's size limit at the smallest settings),
    ``text_too_long`` (pack or author), ``not_animated`` (a still sticker asked to become a video).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SourceInfo:
    """A probed source: ``kind`` image, gif, webp or video; ``frames`` 1 for a still image."""

    kind: str
    width: int
    height: int
    frames: int
    duration_seconds: float
    fps: float = 0.0
    format: str = ""

    @property
    def animated(self) -> bool:
        return self.frames > 1 or self.kind == "video"


def _check_canvas(width: int, height: int, *, side: int = MAX_SIDE, pixels: int = MAX_PIXELS) -> None:
    if not (0 < width <= side and 0 < height <= side) or width * height > pixels:
        raise StickerError("too_large", f"canvas {width}x{height} is over {side} px a side or {pixels} pixels")


def _skip_blocks(data: bytes | memoryview, at: int) -> int:
    while True:
        size = data[at]
        at += 1
        if size == 0:
            return at
        at += size


def gif_scan(data: bytes, *, max_frames: int = MAX_FRAMES) -> SourceInfo:
    """Canvas, frames and loop duration of a GIF, walking its blocks (no pixel is decoded)."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise StickerError("unreadable", "not a GIF")
    width, height = struct.unpack("<HH", data[6:10])
    _check_canvas(width, height)
    at = 13 + (3 * (2 << (data[10] & 7)) if data[10] & 0x80 else 0)
    frames = total_ms = 0
    delay = 0
    try:
        while at < len(data) and data[at] != 0x3B:
            block = data[at]
            if block == 0x21:
                if data[at + 1] == 0xF9 and data[at + 2] >= 4:
                    delay = struct.unpack("<H", data[at + 4 : at + 6])[0] * 10
                at = _skip_blocks(data, at + 2)
            elif block == 0x2C:
                flags = data[at + 9]
                at += 10 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
                at = _skip_blocks(data, at + 1)  # + the LZW minimum code size byte
                frames += 1
                total_ms += delay if delay >= GIF_MIN_DELAY_MS else GIF_DEFAULT_DELAY_MS
                delay = 0
                if frames > max_frames:
                    raise StickerError("too_large", f"more than {max_frames} frames")
            else:
                raise StickerError("unreadable", f"broken GIF (block 0x{block:02x} at byte {at})")
    except IndexError:
        pass  # truncated: what was complete counts (browsers show it too)
    if frames == 0:
        raise StickerError("unreadable", "a GIF without a complete frame")
    return SourceInfo("gif", width, height, frames, round(total_ms / 1000, 3), format="GIF")


def ffmpeg_probe(path: Path, *, ffmpeg: str, timeout: float = PROBE_TIMEOUT) -> SourceInfo:
    """A video's canvas, duration and frame rate from ffmpeg's description of its input."""
    try:
        done = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-protocol_whitelist", "file", "-i", str(path)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StickerError("unreadable", f"ffmpeg could not read the file in {timeout:g} s") from None
    except OSError as exc:
        raise ConversionError(f"cannot run ffmpeg: {exc}") from None
    text = done.stderr.decode("utf-8", "replace")
    demuxer = _INPUT.search(text)
    if demuxer is None or not set(demuxer[1].split(",")) & VIDEO_FORMATS:
        raise StickerError("unreadable", f"not a video format taken here ({demuxer[1] if demuxer else 'unknown'})")
    video = _VIDEO.search(text)
    if video is None:
        raise StickerError("unreadable", "no video stream ffmpeg can read")
    width, height = int(video[1]), int(video[2])
    _check_canvas(width, height)
    duration = _DURATION.search(text)
    seconds = int(duration[1]) * 3600 + int(duration[2]) * 60 + float(duration[3]) if duration else 0.0
    line = text[video.start() : text.find("\n", video.start())]
    fps = _FPS.search(line)
    return SourceInfo("video", width, height, 0, round(seconds, 3), fps=float(fps[1]) if fps else 0.0, format="video")


def image_probe(path: Path) -> SourceInfo:
    """A still image's canvas from its header (Pillow's ``open`` is lazy: nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            kind_format = image.format or ""
            frames = getattr(image, "n_frames", 1) if kind_format != "GIF" else 1
    except Image.DecompressionBombError as exc:
        raise StickerError("too_large", str(exc)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise StickerError("unreadable", f"not an image Pillow can read: {exc}") from None
    if kind_format == "JPEG":
        _check_canvas(width, height, side=JPEG_MAX_SIDE, pixels=JPEG_MAX_SIDE * JPEG_MAX_SIDE)
    else:
        _check_canvas(width, height)
    if frames > 1:  # an animated PNG (APNG) or TIFF: not a sticker source we take
        raise StickerError("unreadable", f"an animated {kind_format} is not supported; send a GIF or a video")
    return SourceInfo("image", width, height, 1, 0.0, format=kind_format)


def source_probe(path: Path, *, ffmpeg: str, max_bytes: int) -> SourceInfo:
    """Probe any sticker source by its bytes, not its claimed type: GIF, WebP, an image or a video."""
    size = path.stat().st_size
    if size > max_bytes:
        raise StickerError("too_large", f"{size} bytes, over {max_bytes}")
    if size == 0:
        raise StickerError("unreadable", "an empty file")
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return gif_scan(path.read_bytes())
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        try:
            info = webp_info(path.read_bytes())
        except WebPError as exc:
            raise StickerError("unreadable", f"broken WebP: {exc}") from None
        _check_canvas(info.width, info.height)
        if info.frames > MAX_FRAMES:
            raise StickerError("too_large", f"{info.frames} frames, more than {MAX_FRAMES}")
        return SourceInfo("webp", info.width, info.height, info.frames, info.duration_ms / 1000, format="WEBP")
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff" or head[:2] == b"BM":
        return image_probe(path)
    return ffmpeg_probe(path, ffmpeg=ffmpeg)
