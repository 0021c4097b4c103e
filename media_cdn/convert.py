"""Conversion with ffmpeg: a probed GIF becomes the MP4 WhatsApp loops and the animated WebP sticker.

Run once per GIF at ingest (``pipeline``: the ``import_gifs`` command, the starter-pack migration
and the admin's reconvert), never per send; the bot child loads it only for the sticker commands
(``media_cdn.sticker`` runs ffmpeg through ``ffmpeg_run``).

Why ffmpeg from the ``imageio-ffmpeg`` wheel and not the system one: the wheel ships a static
ffmpeg (with libx264 and libwebp) pinned in requirements.txt, so Heroku needs no buildpack, a
laptop needs no apt/brew step, and every machine converts with the same version. An operator who
wants the system binary sets ``IMAGEIO_FFMPEG_EXE=/usr/bin/ffmpeg`` (imageio-ffmpeg honours it).
There is no ffprobe in the wheel, and none is needed: frames, size and duration come from Pillow
at ingest, and the MP4's dimensions are the ones we asked ffmpeg for.

The MP4 (H.264, yuv420p, even dimensions, faststart, no audio, under 1 MB) is what WhatsApp loops
with ``gifPlayback``; the sticker comes from ``media_cdn.sticker``, the encoder the bot's sticker
commands use too. ffmpeg runs as a subprocess with a time limit.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from media_cdn.limits import MP4_MAX_BYTES, ConversionError

log = logging.getLogger("media_cdn.pipeline")  # the name operators know from the ingest log lines

FFMPEG_TIMEOUT = 60.0
MP4_ATTEMPTS = ((640, 26), (480, 26), (360, 28), (240, 30), (240, 36))  # (longest side, crf)


@dataclass(frozen=True)
class GifInfo:
    """What ingest's probe read from a GIF (with Pillow): the input of a conversion."""

    sha256: str
    bytes: int
    width: int
    height: int
    frames: int
    duration_seconds: float


@dataclass(frozen=True)
class RenditionFile:
    """One file of an asset (the original GIF or a conversion), before it is stored."""

    kind: str
    data: bytes = field(repr=False)
    mimetype: str
    width: int
    height: int
    duration_seconds: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_run(args: list[str], *, timeout: float = FFMPEG_TIMEOUT) -> None:
    """Run ffmpeg with a time limit; any failure becomes one ConversionError line."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ConversionError(f"ffmpeg took longer than {timeout:g} s") from None
    except OSError as exc:
        raise ConversionError(f"cannot run ffmpeg: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConversionError(f"ffmpeg failed (exit {done.returncode}): {lines[-1] if lines else 'no output'}")


def even_fit(width: int, height: int, side: int) -> tuple[int, int]:
    """Scale (never up) so the longer side is at most ``side``; both results even and >= 2."""
    scale = min(1.0, side / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def convert_mp4(source: Path, info: GifInfo, *, workdir: Path, timeout: float = FFMPEG_TIMEOUT) -> RenditionFile:
    """H.264/yuv420p MP4 with even dimensions, faststart and no audio, downscaled until under 1 MB."""
    out = workdir / "out.mp4"
    size = 0
    for side, crf in MP4_ATTEMPTS:
        width, height = even_fit(info.width, info.height, side)
        # GIF transparency has no meaning in yuv420p: flatten onto white rather than black.
        video_filter = (
            "format=rgba,split[fg][bg];[bg]drawbox=c=white@1:replace=1:t=fill[white];"
            f"[white][fg]overlay=format=auto,scale={width}:{height}:flags=lanczos,format=yuv420p"
        )
        ffmpeg_run(
            [
                "-i", str(source), "-an", "-filter_complex", video_filter,
                "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-profile:v", "main",
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-fps_mode", "vfr", "-threads", "1",
                str(out),
            ],
            timeout=timeout,
        )  # fmt: skip
        data = out.read_bytes()
        size = len(data)
        if size < MP4_MAX_BYTES:
            return RenditionFile("mp4", data, "video/mp4", width, height, info.duration_seconds)
    raise ConversionError(f"MP4 still {size} bytes at the smallest size (limit {MP4_MAX_BYTES})")


def convert_webp(
    source: Path, info: GifInfo, *, workdir: Path, timeout: float = FFMPEG_TIMEOUT
) -> RenditionFile | None:
    """The GIF's sticker, made by the one sticker encoder (``media_cdn.sticker``): 512x512 with
    transparent padding, at most 10 s and 500 KB animated, 100 KB still (a one-frame GIF is a still
    sticker); the pack and author come from STICKER_PACK and STICKER_AUTHOR. None when it cannot fit."""
    from django.conf import settings

    from media_cdn.sticker import sticker_make
    from media_cdn.sticker_probe import SourceInfo, StickerError

    probed = SourceInfo("gif", info.width, info.height, info.frames, info.duration_seconds, format="GIF")
    try:
        made = sticker_make(
            source,
            workdir=workdir,
            pack=settings.STICKER_PACK,
            author=settings.STICKER_AUTHOR,
            timeout=timeout,
            info=probed,
        )
    except StickerError as exc:
        log.warning("sticker skipped", extra={"reason": exc.reason, "error": str(exc)})
        return None
    return RenditionFile("webp", made.data, made.mimetype, made.width, made.height, made.duration_seconds)
