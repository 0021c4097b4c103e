"""Reads of the media_cdn tables (the bytes column is deferred: lists never load blobs)."""

from __future__ import annotations

import logging
from pathlib import Path

from media_cdn.models import GifAsset, GifRendition
from media_cdn.storage import file_write_atomic, media_path

log = logging.getLogger(__name__)


def rendition_get(*, name: str, kind: str) -> GifRendition | None:
    return GifRendition.objects.select_related("asset").defer("data").filter(asset__name=name, kind=kind).first()


def assets_by_category() -> dict[str, list[str]]:
    """Asset names grouped by category, for menus and the admin."""
    grouped: dict[str, list[str]] = {}
    for name, category in GifAsset.objects.order_by("category", "name").values_list("name", "category"):
        grouped.setdefault(category, []).append(name)
    return grouped


def rendition_local_file(rendition: GifRendition) -> Path | None:
    """The rendition's file on this machine's disk, put back from the database copy if it was wiped.

    Checks the size only (the web view serves many requests; the resolver checks the sha256).
    None when neither the file nor a database copy exists.
    """
    path = media_path(rendition.path)
    try:
        if path.stat().st_size == rendition.bytes:
            return path
    except FileNotFoundError:
        pass
    data = GifRendition.objects.filter(pk=rendition.pk).values_list("data", flat=True).first()
    if data is None or len(data) != rendition.bytes:
        return None
    try:
        file_write_atomic(path, bytes(data))
    except OSError as exc:
        log.warning("cannot restore rendition file", extra={"path": rendition.path, "error": str(exc)})
        return None
    return path
