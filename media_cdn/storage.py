"""Files under MEDIA_ROOT: atomic writes and checksum-verified reads.

Two areas: ``renditions/`` (written by ingest, content-addressed by sha256) and ``cache/`` (copies
fetched from the network by the resolver). Both are disposable: a cloud dyno wipes them on restart,
and the resolver rebuilds them from the database copy or the CDN.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings

RENDITIONS_DIR = "renditions"
CACHE_DIR = "cache"


def media_root() -> Path:
    """Read at call time, so ``override_settings(MEDIA_ROOT=...)`` and tests see their own directory."""
    return Path(settings.MEDIA_ROOT)


def rendition_relpath(sha256: str, kind: str) -> str:
    return f"{RENDITIONS_DIR}/{sha256[:2]}/{sha256}.{kind}"


def cache_path(sha256: str, kind: str) -> Path:
    return media_root() / CACHE_DIR / f"{sha256}.{kind}"


def media_path(relpath: str) -> Path:
    """An absolute path under MEDIA_ROOT; refuses anything that would escape it."""
    root = media_root().resolve()
    path = (root / relpath).resolve()
    if root not in path.parents:
        raise ValueError(f"path {relpath!r} is outside MEDIA_ROOT")
    return path


def file_write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file next to ``path`` and rename it: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_read_verified(path: Path, *, sha256: str, size: int) -> bytes | None:
    """The file's bytes if it exists with the expected size and checksum, else None.

    A corrupt or truncated file is deleted so the next lookup goes to a good copy.
    """
    try:
        if path.stat().st_size != size:
            path.unlink(missing_ok=True)
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        path.unlink(missing_ok=True)
        return None
    return data
