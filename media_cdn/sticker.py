"""The one sticker encoder: any image, GIF, WebP or short video -> a WhatsApp sticker within its limits.

Imported by ``media_cdn.convert`` (the sticker rendition of every ingested GIF, in the web and
release processes) and by the bot child's sticker commands (``bot.commands.stickers``), so both
obey the same rules:

- a 512x512 WebP, the picture scaled to fit and centred on transparent padding;
- still (one frame) <= 100 KB, encoded by Pillow; animated (GIF, animated WebP, video) <= 500 KB
  and <= 10 s, encoded by ffmpeg: longer sources are trimmed, and each try that is too big steps
  down the frame rate, the quality and the picture's size; when even the last try is too big the
  caller gets ``StickerError('cannot_fit')``, never a sticker WhatsApp would refuse;
- the sticker-pack EXIF (pack name and author) WhatsApp shows, written into the container.

Sources are probed from their headers first (``sticker_probe``): a canvas or frame count over the
limits is refused before a pixel is decoded. Everything works on files in a work directory; one
file (the output) is read into memory.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from media_cdn.limits import STICKER_MAX_BYTES, STICKER_MAX_SECONDS, STICKER_STATIC_MAX_BYTES, ConversionError
from media_cdn.sticker_probe import SourceInfo, StickerError, source_probe
from media_cdn.webp_meta import PACK_TEXT_MAX, WebPError, pack_exif, webp_info, webp_with_exif

SIDE = 512
STATIC_ATTEMPTS = ((512, 80), (512, 60), (512, 40), (448, 30), (384, 25))  # (picture side, quality)
# (frame rate cap, quality, picture side, bytes relative to the first); the first keeps a slow source's own
# timing (None). The relative bytes, measured on GIFs and videos, pick which try a probe jumps to.
ANIMATED_ATTEMPTS = (
    (None, 60, 512, 1.0),
    (15, 50, 512, 0.85),
    (12, 40, 448, 0.6),
    (10, 30, 384, 0.42),
    (8, 25, 320, 0.28),
    (6, 20, 256, 0.18),
)
NATIVE_FPS_MAX = 15.0  # a source this slow or slower keeps its frame timing on the first try
PROBE_SECONDS = 1.0  # a long clip's first second is encoded first, to skip tries that cannot fit
PROBE_MARGIN = 0.9  # a try is made in full when its first second points under 90% of the limit
ENCODE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Sticker:
    """A finished sticker: the WebP bytes and what was done to fit WhatsApp's limits."""

    data: bytes = field(repr=False)
    animated: bool
    frames: int
    duration_seconds: float
    trimmed: bool = False  # the source was longer than STICKER_MAX_SECONDS
    attempts: int = 1  # encodings run until it fitted (a long clip's one-second probes count)
    width: int = SIDE
    height: int = SIDE
    mimetype: str = "image/webp"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean_text(text: str) -> str:
    """Pack and author text as WhatsApp shows it: printable, one line, trimmed."""
    return "".join(ch for ch in text if ch.isprintable()).strip()


def pack_id_for(pack: str, author: str) -> str:
    """A stable pack id: stickers made with the same pack and author land in one pack on the phone."""
    return "blacksky-" + hashlib.sha256(f"{pack}\x00{author}".encode()).hexdigest()[:24]


def sticker_exif(*, pack: str, author: str) -> bytes:
    """The EXIF payload for ``pack`` and ``author``; raises StickerError('text_too_long')."""
    pack, author = clean_text(pack), clean_text(author)
    for label, text in (("pack name", pack), ("author", author)):
        if len(text) > PACK_TEXT_MAX:
            raise StickerError("text_too_long", f"the {label} has {len(text)} characters (at most {PACK_TEXT_MAX})")
    return pack_exif(pack=pack, author=author, pack_id=pack_id_for(pack, author))


def sticker_make(
    source: Path,
    *,
    workdir: Path,
    pack: str = "",
    author: str = "",
    max_bytes: int = 16 * 1024 * 1024,
    timeout: float = ENCODE_TIMEOUT,
    info: SourceInfo | None = None,
) -> Sticker:
    """Make a sticker of the file at ``source``. Raises StickerError (why, in one line) or ConversionError."""
    from media_cdn.convert import ffmpeg_exe

    exif = sticker_exif(pack=pack, author=author)  # refused before any work
    ffmpeg = ffmpeg_exe()
    info = info or source_probe(source, ffmpeg=ffmpeg, max_bytes=max_bytes)
    if not info.animated:
        return _still(source, info, exif=exif)
    return _animated(source, info, exif=exif, workdir=workdir, ffmpeg=ffmpeg, timeout=timeout)


def _still(source: Path, info: SourceInfo, *, exif: bytes) -> Sticker:
    from PIL import Image, ImageOps

    try:
        with Image.open(source) as image:
            if image.format == "JPEG":
                image.draft("RGB", (SIDE * 2, SIDE * 2))  # decode at a fraction of a huge photo's size
            if image.mode in ("P", "1", "I", "I;16", "F"):
                image = image.convert("RGBA")  # a palette's transparency survives, and resampling works
            # Shrunk in place before anything else is copied: one decoded canvas at most is in memory.
            image.thumbnail((SIDE * 2, SIDE * 2), Image.Resampling.LANCZOS, reducing_gap=3.0)
            picture = ImageOps.exif_transpose(image).convert("RGBA")
    except Image.DecompressionBombError as exc:
        raise StickerError("too_large", str(exc)) from None
    except Exception as exc:  # Pillow's decoders raise many kinds on corrupt data
        raise StickerError("unreadable", f"the image cannot be decoded: {type(exc).__name__}: {exc}") from None
    size = 0
    for attempt, (side, quality) in enumerate(STATIC_ATTEMPTS, start=1):
        canvas = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
        fitted = ImageOps.contain(picture, (side, side), Image.Resampling.LANCZOS)
        canvas.paste(fitted, ((SIDE - fitted.width) // 2, (SIDE - fitted.height) // 2))
        out = io.BytesIO()
        canvas.save(out, format="WEBP", quality=quality, method=4)
        data = webp_with_exif(out.getvalue(), exif)
        size = len(data)
        if size <= STICKER_STATIC_MAX_BYTES:
            return Sticker(data, animated=False, frames=1, duration_seconds=0.0, attempts=attempt)
    raise StickerError("cannot_fit", f"still {size} bytes at the smallest settings (limit {STICKER_STATIC_MAX_BYTES})")


def _webp_encode(
    source: Path, out: Path, *, rate: str, quality: int, side: int, seconds: float, timeout: float
) -> None:
    from media_cdn.convert import ffmpeg_run

    video_filter = (
        f"{rate}scale={side}:{side}:force_original_aspect_ratio=decrease:flags=lanczos,format=rgba,"
        f"pad={SIDE}:{SIDE}:(ow-iw)/2:(oh-ih)/2:color=0x00000000"
    )
    ffmpeg_run(
        [
            "-protocol_whitelist", "file", "-i", str(source), "-t", f"{seconds:g}", "-an", "-sn", "-vf", video_filter,
            "-c:v", "libwebp_anim", "-lossless", "0", "-q:v", str(quality), "-compression_level", "4",
            "-loop", "0", "-fps_mode", "vfr", "-threads", "1", str(out),
        ],
        timeout=timeout,
    )  # fmt: skip


def _animated(source: Path, info: SourceInfo, *, exif: bytes, workdir: Path, ffmpeg: str, timeout: float) -> Sticker:
    """Try the settings in order; a try whose first ``PROBE_SECONDS`` already point past the limit (the
    sticker's bytes grow with its length) is skipped without encoding the whole clip."""
    out = workdir / "sticker.webp"
    source_fps = info.fps or (info.frames / info.duration_seconds if info.duration_seconds else 0.0)
    trimmed = info.duration_seconds > STICKER_MAX_SECONDS
    seconds = min(info.duration_seconds, STICKER_MAX_SECONDS) if info.duration_seconds else STICKER_MAX_SECONDS
    tries = [
        attempt
        for attempt in ANIMATED_ATTEMPTS
        if attempt[0] is not None or 0 < source_fps <= NATIVE_FPS_MAX  # a fast source starts at a capped rate
    ]
    probing = bool(info.duration_seconds) and seconds >= 3 * PROBE_SECONDS
    size = encodes = 0
    index = 0
    while index < len(tries):
        fps_cap, quality, side, relative = tries[index]
        rate = f"fps={min(fps_cap, source_fps or fps_cap):g}," if fps_cap is not None else ""
        settings = {"rate": rate, "quality": quality, "side": side, "timeout": timeout}
        if probing and index < len(tries) - 1:
            _webp_encode(source, out, seconds=PROBE_SECONDS, **settings)
            encodes += 1
            estimate = out.stat().st_size * seconds / PROBE_SECONDS
            if estimate > PROBE_MARGIN * STICKER_MAX_BYTES:
                needed = PROBE_MARGIN * STICKER_MAX_BYTES / estimate
                later = range(index + 1, len(tries))
                index = next((j for j in later if tries[j][3] / relative <= needed), len(tries) - 1)
                continue
        _webp_encode(source, out, seconds=STICKER_MAX_SECONDS, **settings)
        encodes += 1
        try:
            made = webp_info(out.read_bytes())
        except (OSError, WebPError) as exc:
            raise ConversionError(f"ffmpeg wrote no readable WebP: {exc}") from None
        if made.duration_ms > STICKER_MAX_SECONDS * 1000:
            raise ConversionError(f"the sticker lasts {made.duration_ms} ms after trimming")
        data = webp_with_exif(out.read_bytes(), exif)
        size = len(data)
        if size <= STICKER_MAX_BYTES:
            return Sticker(
                data,
                animated=made.frames > 1,
                frames=made.frames,
                duration_seconds=made.duration_ms / 1000 if made.frames > 1 else 0.0,
                trimmed=trimmed,
                attempts=encodes,
            )
        index += 1
    raise StickerError("cannot_fit", f"still {size} bytes at the smallest settings (limit {STICKER_MAX_BYTES})")


def sticker_retag(source: Path, *, pack: str, author: str, max_bytes: int = STICKER_MAX_BYTES * 2) -> Sticker:
    """A received sticker with a new pack and author: the image chunks are copied, nothing re-encoded."""
    exif = sticker_exif(pack=pack, author=author)
    if source.stat().st_size > max_bytes:
        raise StickerError("too_large", f"{source.stat().st_size} bytes, over {max_bytes} for a sticker")
    try:
        data = source.read_bytes()
        info = webp_info(data)
        tagged = webp_with_exif(data, exif)
    except WebPError as exc:
        raise StickerError("unreadable", f"not a WebP sticker: {exc}") from None
    return Sticker(
        tagged,
        animated=info.animated,
        frames=info.frames,
        duration_seconds=info.duration_ms / 1000 if info.animated else 0.0,
        width=info.width,
        height=info.height,
    )


def sticker_to_png(source: Path, *, max_bytes: int = STICKER_MAX_BYTES * 2) -> bytes:
    """The first frame of a sticker as a PNG (transparency kept)."""
    from PIL import Image

    from media_cdn.sticker_probe import MAX_FRAMES

    if source.stat().st_size > max_bytes:
        raise StickerError("too_large", f"{source.stat().st_size} bytes, over {max_bytes} for a sticker")
    try:
        info = webp_info(source.read_bytes())
    except WebPError as exc:
        raise StickerError("unreadable", f"not a WebP sticker: {exc}") from None
    if info.width * info.height > SIDE * SIDE * 16 or info.frames > MAX_FRAMES:
        raise StickerError("too_large", f"a {info.width}x{info.height} sticker of {info.frames} frames")
    try:
        with Image.open(source) as image:
            image.seek(0)
            frame = image.convert("RGBA")
    except Exception as exc:
        raise StickerError("unreadable", f"the sticker cannot be decoded: {type(exc).__name__}: {exc}") from None
    out = io.BytesIO()
    frame.save(out, format="PNG", optimize=True)
    return out.getvalue()


def sticker_to_mp4(source: Path, *, workdir: Path, timeout: float = ENCODE_TIMEOUT) -> tuple[bytes, int, int, float]:
    """An animated sticker as the looping MP4 WhatsApp plays (bytes, width, height, seconds)."""
    from media_cdn.convert import GifInfo, convert_mp4

    try:
        info = webp_info(source.read_bytes())
    except WebPError as exc:
        raise StickerError("unreadable", f"not a WebP sticker: {exc}") from None
    if not info.animated or info.frames < 2:
        raise StickerError("not_animated", "a still sticker has no motion to turn into a video")
    if info.width * info.height > SIDE * SIDE * 16:
        raise StickerError("too_large", f"a {info.width}x{info.height} sticker")
    seconds = info.duration_ms / 1000
    probe = GifInfo(
        sha256="", bytes=0, width=info.width, height=info.height, frames=info.frames, duration_seconds=seconds
    )
    video = convert_mp4(source, probe, workdir=workdir, timeout=timeout)
    return video.data, video.width, video.height, seconds
