"""Find the bytes of a rendition, wherever they still are, and hand them over as ``Media``.

The chain, cheapest first:

1. memory: a byte-bounded LRU (MEDIA_CACHE_MB); a hit is a dict lookup (no query, no disk);
   entries are re-checked against the database every ``meta_ttl`` seconds so a reconverted asset
   is picked up;
2. local rendition: the file ingest wrote under MEDIA_ROOT, else the copy kept in the database
   (written back to disk); a cloud dyno's disk is wiped on restart, the database is not;
3. disk cache: copies fetched earlier from the network (MEDIA_ROOT/cache/<sha256>.<ext>);
4. network: MEDIA_CDN_URL + '<name>.<ext>' (the web dyno's /gifs/ can be that origin), and for the
   original GIF also the asset's source URL. Fetched with httpx: timeouts, a size cap (the exact
   size we expect), streamed to a temporary file, the sha256 checked before the file is used;
5. nothing: None and a warning line; the caller sends its text without the media.

USE_CDN_MEDIA=true moves the disk cache and the CDN in front of the local copies.
Every source is verified against the sha256 recorded at ingest, so a stale CDN or a corrupt file
is skipped, never sent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from media_cdn.cache import ByteLRU
from media_cdn.limits import MAX_GIF_BYTES
from media_cdn.media import Media
from media_cdn.storage import cache_path, file_read_verified, file_write_atomic, media_path

log = logging.getLogger(__name__)

KINDS = ("mp4", "webp", "gif")
# The outbound asks by reply kind; each maps to the rendition WhatsApp wants for it.
REPLY_KINDS = {"video": "mp4", "sticker": "webp", "image": "gif"}
CHUNK_BYTES = 64 * 1024


class FetchError(Exception):
    """A network copy could not be used (status, timeout, size, checksum)."""


def _safe_url(url: str) -> str:
    """The URL without query or credentials, for log lines (CDN URLs may carry signed tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def media_fetch(
    client: httpx.Client,
    url: str,
    *,
    sha256: str,
    max_bytes: int,
    dest: Path,
    total_timeout: float = 20.0,
    clock: Callable[[], float] = time.monotonic,
) -> Path:
    """Stream ``url`` into a temporary file next to ``dest``; keep it only if size and sha256 match.

    Memory stays at one chunk whatever the file size. Raises FetchError with the reason.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    deadline = clock() + total_timeout
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".part-", suffix=dest.suffix)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with client.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise FetchError(f"HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(f"too large: {declared} bytes declared, at most {max_bytes} expected")
                    for chunk in response.iter_bytes(CHUNK_BYTES):
                        received += len(chunk)
                        if received > max_bytes:
                            raise FetchError(f"too large: more than {max_bytes} bytes")
                        if clock() > deadline:
                            raise FetchError(f"too slow: over {total_timeout:g} s")
                        digest.update(chunk)
                        out.write(chunk)
            except httpx.TimeoutException as exc:
                raise FetchError(f"too slow: {type(exc).__name__}") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}") from None
        if digest.hexdigest() != sha256:
            raise FetchError(f"checksum mismatch ({received} bytes, sha256 {digest.hexdigest()[:12]}...)")
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


class _Entry:
    __slots__ = ("media", "checked_at")

    def __init__(self, media: Media, checked_at: float) -> None:
        self.media = media
        self.checked_at = checked_at


class MediaResolver:
    """One per process (see ``resolve_media``); tests build their own with small timeouts."""

    def __init__(
        self,
        *,
        cdn_url: str = "",
        use_cdn: bool = False,
        cache_bytes: int = 32 * 1024 * 1024,
        connect_timeout: float = 3.0,
        read_timeout: float = 5.0,
        total_timeout: float = 20.0,
        meta_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.cdn_url = cdn_url
        self.use_cdn = use_cdn
        self.memory: ByteLRU[_Entry] = ByteLRU(cache_bytes)
        self.total_timeout = total_timeout
        self.meta_ttl = meta_ttl
        self.clock = clock
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._http_transport = http_transport
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> MediaResolver:
        return cls(
            cdn_url=settings.MEDIA_CDN_URL,
            use_cdn=settings.USE_CDN_MEDIA,
            cache_bytes=settings.MEDIA_CACHE_MB * 1024 * 1024,
        )

    # -- public ---------------------------------------------------------------------------------
    def resolve(self, asset: str, *, kind: str = "mp4") -> Media | None:
        """``kind``: a rendition (mp4, webp, gif) or a reply kind (video, sticker, image)."""
        kind = REPLY_KINDS.get(kind, kind)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (or video, sticker, image)")
        key = (asset, kind)
        entry = self.memory.get(key)
        if entry is not None:
            now = self.clock()
            if now - entry.checked_at < self.meta_ttl:
                return entry.media
            if self._current_sha(asset, kind) == entry.media.sha256:
                entry.checked_at = now
                return entry.media
            self.memory.pop(key)
        return self._resolve_cold(asset, kind)

    def forget(self, asset: str) -> None:
        for kind in KINDS:
            self.memory.pop((asset, kind))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- the chain ------------------------------------------------------------------------------
    def _current_sha(self, asset: str, kind: str) -> str | None:
        from media_cdn.models import GifRendition

        return GifRendition.objects.filter(asset__name=asset, kind=kind).values_list("sha256", flat=True).first()

    def _resolve_cold(self, asset: str, kind: str) -> Media | None:
        from media_cdn.models import GifRendition

        row = GifRendition.objects.select_related("asset").defer("data").filter(asset__name=asset, kind=kind).first()
        if row is None:
            log.warning("media unknown, sending text only", extra={"asset": asset, "kind": kind})
            return None
        sources: list[tuple[str, Callable[[], bytes | None]]] = [
            ("local", lambda: self._from_local(row)),
            ("database", lambda: self._from_database(row)),
            ("disk_cache", lambda: self._from_disk_cache(row)),
            ("cdn", lambda: self._from_cdn(row)),
        ]
        if self.use_cdn:
            sources = sources[2:] + sources[:2]
        if kind == "gif" and row.asset.source_url:
            sources.append(("source_url", lambda: self._from_url(row, row.asset.source_url)))
        for source, load in sources:
            data = load()
            if data is not None:
                media = Media(
                    data=data,
                    mimetype=row.mimetype,
                    sha256=row.sha256,
                    width=row.width,
                    height=row.height,
                    duration_seconds=row.duration_seconds,
                    thumbnail_jpeg=bytes(row.asset.thumbnail_jpeg or b""),
                    gif_playback=kind == "mp4",
                    asset=asset,
                )
                self.memory.put((asset, kind), _Entry(media, self.clock()), len(data))
                log.debug("media resolved", extra={"asset": asset, "kind": kind, "source": source})
                return media
        log.warning(
            "media unavailable everywhere, sending text only",
            extra={"asset": asset, "kind": kind, "cdn": bool(self.cdn_url)},
        )
        return None

    def _from_local(self, row) -> bytes | None:
        return file_read_verified(media_path(row.path), sha256=row.sha256, size=row.bytes)

    def _from_database(self, row) -> bytes | None:
        from media_cdn.models import GifRendition

        stored = GifRendition.objects.filter(pk=row.pk).values_list("data", flat=True).first()
        if stored is None:
            return None
        data = bytes(stored)
        if hashlib.sha256(data).hexdigest() != row.sha256:
            log.warning("database copy fails its checksum", extra={"asset": row.asset.name, "kind": row.kind})
            return None
        try:  # put the file back, so the web view and the next process find it on disk
            file_write_atomic(media_path(row.path), data)
        except OSError as exc:
            log.warning("cannot write rendition back to disk", extra={"path": row.path, "error": str(exc)})
        return data

    def _from_disk_cache(self, row) -> bytes | None:
        return file_read_verified(cache_path(row.sha256, row.kind), sha256=row.sha256, size=row.bytes)

    def _from_cdn(self, row) -> bytes | None:
        if not self.cdn_url:
            return None
        return self._from_url(row, f"{self.cdn_url.rstrip('/')}/{row.asset.name}.{row.kind}")

    def _from_url(self, row, url: str) -> bytes | None:
        dest = cache_path(row.sha256, row.kind)
        try:
            media_fetch(
                self._http(),
                url,
                sha256=row.sha256,
                max_bytes=min(row.bytes, MAX_GIF_BYTES),
                dest=dest,
                total_timeout=self.total_timeout,
                clock=self.clock,
            )
        except (FetchError, OSError) as exc:
            log.warning(
                "media fetch failed",
                extra={"asset": row.asset.name, "kind": row.kind, "url": _safe_url(url), "reason": str(exc)},
            )
            return None
        return file_read_verified(dest, sha256=row.sha256, size=row.bytes)

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout,
                    follow_redirects=True,
                    transport=self._http_transport,
                    headers={"User-Agent": "blacksky-md-media/1", "Accept-Encoding": "identity"},
                )
            return self._client


_default: MediaResolver | None = None
_default_lock = threading.Lock()


def default_resolver() -> MediaResolver:
    global _default
    with _default_lock:
        if _default is None:
            _default = MediaResolver.from_settings()
        return _default


def resolve_media(asset: str, *, kind: str = "mp4") -> Media | None:
    """The contract: the named asset's rendition as ``Media``, or None (send text only)."""
    return default_resolver().resolve(asset, kind=kind)


def resolver_forget(asset: str) -> None:
    """Drop an asset from this process's memory cache (after a reconvert)."""
    if _default is not None:
        _default.forget(asset)


def resolver_shed() -> int:
    """Empty this process's in-memory media cache (memory pressure); returns the bytes let go."""
    if _default is None:
        return 0
    freed = _default.memory.total_bytes
    _default.memory.clear()
    return freed


def resolver_reset() -> None:
    """Rebuild the process resolver from settings on next use."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = None
