"""Ingest: validate a GIF, checksum it, convert it once (``convert``), store it.

Run by the ``import_gifs`` command, the starter-pack migration, the admin's reconvert (web dyno)
and ``prune`` (``media_files_prune``, also a django-q2 task); the bot child never imports it: it
only reads what ingest stored, through ``resolver``. Conversion happens here only, never per send.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps as django_apps
from django.db import IntegrityError, transaction
from PIL import Image, ImageSequence, UnidentifiedImageError

from media_cdn.convert import FFMPEG_TIMEOUT, GifInfo, RenditionFile, convert_mp4, convert_webp
from media_cdn.limits import DB_COPY_MAX_BYTES, MAX_FRAMES, MAX_GIF_BYTES, MAX_SIDE, InvalidGifError, MediaError
from media_cdn.storage import file_write_atomic, media_path, rendition_relpath

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 128
GIF_MIN_DELAY_MS = 20  # below this browsers (and ffmpeg's demuxer) use 100 ms
GIF_DEFAULT_DELAY_MS = 100


@dataclass(frozen=True)
class PreparedGif:
    """Everything ingest produces before touching the database."""

    name: str
    category: str
    source_url: str
    info: GifInfo
    thumbnail_jpeg: bytes = field(repr=False)
    renditions: tuple[RenditionFile, ...]


@dataclass(frozen=True)
class IngestResult:
    status: str  # created, replaced, duplicate
    name: str
    asset: Any  # GifAsset (or the historical model inside a migration)
    message: str


# -- naming ----------------------------------------------------------------------------------
def name_from_filename(filename: str) -> str:
    """'Happy Dance (2).gif' -> 'happy-dance-2': the asset name commands and URLs use."""
    stem = Path(filename).stem.lower()
    name = re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-_")[:40].strip("-_")
    if not name:
        raise MediaError(f"cannot make an asset name from {filename!r}")
    return name


# -- validate and probe ----------------------------------------------------------------------
def gif_read(path: Path) -> bytes:
    """The file's bytes, refusing a file over MAX_GIF_BYTES before reading it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidGifError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if size > MAX_GIF_BYTES:
        raise InvalidGifError(f"too large: {size / 1048576:.1f} MB (limit {MAX_GIF_BYTES // 1048576} MB)")
    return path.read_bytes()


def gif_probe(data: bytes) -> GifInfo:
    """Check that ``data`` is a complete, sane GIF and read its size, frames and loop duration."""
    if len(data) > MAX_GIF_BYTES:
        raise InvalidGifError(f"too large: {len(data) / 1048576:.1f} MB (limit {MAX_GIF_BYTES // 1048576} MB)")
    if not data.startswith((b"GIF87a", b"GIF89a")):
        raise InvalidGifError("not a GIF (no GIF87a/GIF89a header)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise InvalidGifError(f"canvas {width}x{height} is outside 1..{MAX_SIDE} px")
            frames = 0
            total_ms = 0
            for frame in ImageSequence.Iterator(image):
                frame.load()  # decodes: a truncated or corrupt frame raises here
                frames += 1
                if frames > MAX_FRAMES:
                    raise InvalidGifError(f"more than {MAX_FRAMES} frames")
                delay = int(frame.info.get("duration") or 0)
                total_ms += delay if delay >= GIF_MIN_DELAY_MS else GIF_DEFAULT_DELAY_MS
    except InvalidGifError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise InvalidGifError(f"broken GIF: {exc}") from None
    except Exception as exc:  # Pillow's decoder raises IndexError and friends on truncated data
        raise InvalidGifError(f"broken GIF: {type(exc).__name__}: {exc}") from None
    return GifInfo(
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        width=width,
        height=height,
        frames=frames,
        duration_seconds=round(total_ms / 1000, 3),
    )


def thumbnail_make(data: bytes, *, side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of the middle frame on white, sent inline with the video message."""
    with Image.open(io.BytesIO(data)) as image:
        image.seek(getattr(image, "n_frames", 1) // 2)
        frame = image.convert("RGBA")
    canvas = Image.new("RGB", frame.size, (255, 255, 255))
    canvas.paste(frame, mask=frame.getchannel("A"))
    canvas.thumbnail((side, side))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=70, optimize=True)
    return out.getvalue()


def gif_prepare(
    data: bytes,
    *,
    name: str,
    category: str = "",
    source_url: str = "",
    timeout: float = FFMPEG_TIMEOUT,
) -> PreparedGif:
    """Validate, checksum and convert, without touching the database (safe to run in threads)."""
    info = gif_probe(data)
    from blacksky_site.tempfiles import process_temp_dir  # one temp dir per process, swept hourly

    with tempfile.TemporaryDirectory(prefix="blacksky-gif-", dir=process_temp_dir()) as tmp:
        workdir = Path(tmp)
        source = workdir / "in.gif"
        source.write_bytes(data)
        mp4 = convert_mp4(source, info, workdir=workdir, timeout=timeout)
        webp = convert_webp(source, info, workdir=workdir, timeout=timeout)
    original = RenditionFile("gif", data, "image/gif", info.width, info.height, info.duration_seconds)
    renditions = tuple(r for r in (original, mp4, webp) if r is not None)
    return PreparedGif(
        name=name,
        category=category,
        source_url=source_url,
        info=info,
        thumbnail_jpeg=thumbnail_make(data),
        renditions=renditions,
    )


# -- store -----------------------------------------------------------------------------------
def _models(apps: Any | None) -> tuple[Any, Any]:
    registry = apps or django_apps
    return registry.get_model("media_cdn", "GifAsset"), registry.get_model("media_cdn", "GifRendition")


def gif_store(prepared: PreparedGif, *, replace: bool = False, apps: Any | None = None) -> IngestResult:
    """Write the rendition files and the rows. Dedupes by sha256; a taken name needs ``replace``.

    ``apps`` is the historical app registry when called from a data migration.
    """
    GifAsset, GifRendition = _models(apps)
    info = prepared.info
    existing = GifAsset.objects.filter(name=prepared.name).first()
    duplicate = GifAsset.objects.filter(sha256=info.sha256).first()
    reconverting = replace and existing is not None and duplicate is not None and duplicate.pk == existing.pk
    if duplicate is not None and not reconverting:
        return IngestResult("duplicate", duplicate.name, duplicate, f"same bytes as {duplicate.name!r}, nothing stored")
    if existing is not None and not replace:
        raise MediaError(f"name {prepared.name!r} is taken by a different GIF (use --replace)")

    for rendition in prepared.renditions:
        file_write_atomic(media_path(rendition_relpath(rendition.sha256, rendition.kind)), rendition.data)

    fields = {
        "category": prepared.category,
        "sha256": info.sha256,
        "bytes": info.bytes,
        "width": info.width,
        "height": info.height,
        "frames": info.frames,
        "duration_seconds": info.duration_seconds,
        "source_url": prepared.source_url,
        "thumbnail_jpeg": prepared.thumbnail_jpeg,
    }
    try:
        with transaction.atomic():
            if existing is not None:
                for key, value in fields.items():
                    setattr(existing, key, value)
                existing.save()
                asset = existing
                asset.renditions.all().delete()
            else:
                asset = GifAsset.objects.create(name=prepared.name, **fields)
            GifRendition.objects.bulk_create(
                [
                    GifRendition(
                        asset=asset,
                        kind=r.kind,
                        mimetype=r.mimetype,
                        sha256=r.sha256,
                        bytes=len(r.data),
                        width=r.width,
                        height=r.height,
                        duration_seconds=r.duration_seconds,
                        path=rendition_relpath(r.sha256, r.kind),
                        data=r.data if len(r.data) <= DB_COPY_MAX_BYTES else None,
                    )
                    for r in prepared.renditions
                ]
            )
    except IntegrityError:
        # Another process stored the same bytes (or name) between our check and our insert.
        duplicate = GifAsset.objects.filter(sha256=info.sha256).first()
        if duplicate is None:
            raise MediaError(f"name {prepared.name!r} was taken while converting") from None
        return IngestResult("duplicate", duplicate.name, duplicate, f"same bytes as {duplicate.name!r}, nothing stored")
    status = "replaced" if existing is not None else "created"
    kinds = ", ".join(f"{r.kind} {len(r.data)} B" for r in prepared.renditions)
    log.debug("gif stored", extra={"asset": asset.name, "status": status, "sha256": info.sha256[:12]})
    return IngestResult(status, asset.name, asset, f"{info.width}x{info.height}, {info.frames} frames -> {kinds}")


def gif_ingest(
    *,
    path: Path | None = None,
    data: bytes | None = None,
    name: str = "",
    category: str = "",
    source_url: str = "",
    replace: bool = False,
    apps: Any | None = None,
) -> IngestResult:
    """Ingest one GIF from a file or bytes. Raises MediaError (one line) and stores nothing on failure."""
    if data is None:
        if path is None:
            raise ValueError("gif_ingest needs path or data")
        data = gif_read(path)
    name = name or name_from_filename(path.name if path else "")
    GifAsset, _ = _models(apps)
    sha256 = hashlib.sha256(data).hexdigest()
    duplicate = GifAsset.objects.filter(sha256=sha256).first()
    if duplicate is not None:  # checked before converting: a re-import costs no ffmpeg
        return IngestResult("duplicate", duplicate.name, duplicate, f"same bytes as {duplicate.name!r}, nothing stored")
    prepared = gif_prepare(data, name=name, category=category, source_url=source_url)
    return gif_store(prepared, replace=replace, apps=apps)


def gif_original_bytes(asset: Any) -> bytes:
    """The original GIF of an asset: its local file or its database copy."""
    from media_cdn.storage import file_read_verified

    rendition = asset.renditions.filter(kind="gif").first()
    if rendition is None:
        raise MediaError(f"{asset.name}: no original GIF rendition")
    data = file_read_verified(media_path(rendition.path), sha256=rendition.sha256, size=rendition.bytes)
    if data is None and rendition.data is not None:
        data = bytes(rendition.data)
    if data is None or hashlib.sha256(data).hexdigest() != asset.sha256:
        raise MediaError(f"{asset.name}: the original GIF is neither on disk nor in the database")
    return data


def gif_reconvert(*, asset: Any) -> IngestResult:
    """Rebuild an asset's renditions from its original (after an ffmpeg or settings change)."""
    data = gif_original_bytes(asset)
    prepared = gif_prepare(data, name=asset.name, category=asset.category, source_url=asset.source_url)
    result = gif_store(prepared, replace=True)
    from media_cdn.resolver import resolver_forget

    resolver_forget(asset.name)
    return IngestResult("reconverted", result.name, result.asset, result.message)


def gifs_ingest_many(
    items: Iterable[tuple[Path, str, str]],
    *,
    workers: int = 2,
    apps: Any | None = None,
) -> list[IngestResult | MediaError]:
    """Ingest (path, name, category) items, converting ``workers`` at a time; DB writes stay on this thread.

    Used for the starter pack inside a migration, where the rows must be written on the migration's
    own connection. A failed item yields its MediaError in the result list; the rest go on.
    """
    GifAsset, _ = _models(apps)
    pending: list[tuple[str, str, bytes]] = []
    results: list[IngestResult | MediaError] = []
    for path, name, category in items:
        try:
            data = gif_read(path)
        except MediaError as exc:
            results.append(MediaError(f"{path.name}: {exc}"))
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        if GifAsset.objects.filter(sha256=sha256).exists() or GifAsset.objects.filter(name=name).exists():
            continue
        pending.append((name, category, data))

    def prepare(item: tuple[str, str, bytes]) -> PreparedGif | MediaError:
        name, category, data = item
        try:
            return gif_prepare(data, name=name, category=category)
        except MediaError as exc:
            return MediaError(f"{name}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for prepared in pool.map(prepare, pending):
            if isinstance(prepared, MediaError):
                results.append(prepared)
                continue
            try:
                results.append(gif_store(prepared, apps=apps))
            except MediaError as exc:
                results.append(MediaError(f"{prepared.name}: {exc}"))
    return results


def gif_files(directory: Path, *, recursive: bool = False) -> list[Path]:
    """The ``.gif`` files of a folder (any case), sorted, so imports run in a stable order."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in directory.glob(pattern) if p.is_file() and p.suffix.lower() == ".gif")


def media_files_prune(*, min_age_seconds: float = 3600.0, now: float | None = None) -> dict[str, int]:
    """Delete rendition files no row points at (left by --replace and reconvert) and stale cache copies.

    Files younger than ``min_age_seconds`` are kept: ingest writes its files just before its rows.
    Returns counts for the caller's summary (``removed_files``, ``removed_bytes``).
    """
    import time

    from media_cdn.storage import CACHE_DIR, RENDITIONS_DIR, media_root

    GifRendition = django_apps.get_model("media_cdn", "GifRendition")
    root = media_root()
    wanted_paths = set(GifRendition.objects.values_list("path", flat=True))
    wanted_cache = {f"{sha}.{kind}" for sha, kind in GifRendition.objects.values_list("sha256", "kind")}
    cutoff = (time.time() if now is None else now) - min_age_seconds
    removed = {"removed_files": 0, "removed_bytes": 0}
    for area, keep in ((RENDITIONS_DIR, lambda p: p.relative_to(root).as_posix() in wanted_paths),
                       (CACHE_DIR, lambda p: p.name in wanted_cache)):  # fmt: skip
        for path in (root / area).rglob("*"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if not path.is_file() or stat.st_mtime > cutoff or keep(path):
                continue
            path.unlink(missing_ok=True)
            removed["removed_files"] += 1
            removed["removed_bytes"] += stat.st_size
    if removed["removed_files"]:
        log.info("media files pruned", extra=removed)
    return removed
