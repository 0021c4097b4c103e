"""Temporary files that cannot outlive their purpose.

Every process keeps its temp files under one directory of its own
(``<TEMP_DIR>/<pid>-<start>``); files are removed after use; a sweep at start and every hour
removes anything older than an hour under the root, so a crashed predecessor's leftovers go too;
and the bytes one process may hold there are bounded (``TEMP_DIR_MAX_MB``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

SWEEP_AGE_SECONDS = 3600


class TempSpaceExceeded(OSError):
    """The process's temp directory would grow past its bound."""


def temp_root() -> Path:
    root = Path(settings.TEMP_DIR) if settings.TEMP_DIR else Path(tempfile.gettempdir()) / "blacksky"
    root.mkdir(parents=True, exist_ok=True)
    return root


_process_dir: Path | None = None
_process_pid: int | None = None


def process_temp_dir() -> Path:
    """This process's own temp directory (created on first use, new after a fork or spawn)."""
    global _process_dir, _process_pid
    if _process_dir is None or _process_pid != os.getpid() or not _process_dir.exists():
        _process_pid = os.getpid()
        _process_dir = temp_root() / f"{_process_pid}-{int(time.time())}"
        _process_dir.mkdir(parents=True, exist_ok=True)
    return _process_dir


def dir_usage(path: Path) -> int:
    """Bytes used by the regular files below ``path``."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def ensure_temp_space(extra_bytes: int = 0) -> None:
    """Raise TempSpaceExceeded when this process's temp files plus ``extra_bytes`` pass the bound."""
    limit = settings.TEMP_DIR_MAX_MB * 1024 * 1024
    used = dir_usage(process_temp_dir())
    if used + extra_bytes > limit:
        raise TempSpaceExceeded(f"temp dir {process_temp_dir()} would use {used + extra_bytes} bytes, over {limit}")


@contextlib.contextmanager
def temp_path(suffix: str = "", *, expected_bytes: int = 0) -> Iterator[Path]:
    """A fresh file path in the process temp dir, removed when the block ends (error or not)."""
    ensure_temp_space(expected_bytes)
    fd, name = tempfile.mkstemp(suffix=suffix, dir=process_temp_dir())
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@dataclass(frozen=True)
class SweepResult:
    removed_files: int
    removed_bytes: int
    kept_bytes: int


def temp_sweep(
    *, root: Path | None = None, older_than: float = SWEEP_AGE_SECONDS, now: float | None = None
) -> SweepResult:
    """Remove files older than ``older_than`` seconds under the temp root, and emptied directories.

    Directories of live processes keep their fresh files; a dead process's directory disappears
    once its files are old.
    """
    root = root or temp_root()
    now = time.time() if now is None else now
    removed_files = removed_bytes = kept = 0
    for dirpath, dirnames, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if now - info.st_mtime > older_than:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed_files += 1
                    removed_bytes += info.st_size
            else:
                kept += info.st_size
        for name in dirnames:
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                if not os.listdir(path) and now - os.lstat(path).st_mtime > older_than:
                    os.rmdir(path)
    if removed_files:
        logger.info(
            "temp sweep", extra={"removed_files": removed_files, "removed_bytes": removed_bytes, "root": str(root)}
        )
    return SweepResult(removed_files=removed_files, removed_bytes=removed_bytes, kept_bytes=kept)


def disk_free_bytes(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing parent)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def is_disk_full(exc: BaseException) -> bool:
    """True for 'no space left' from the OS or from SQLite (also when wrapped by Django)."""
    for error in (exc, exc.__cause__, exc.__context__):
        if error is None:
            continue
        if isinstance(error, OSError) and error.errno in {errno.ENOSPC, errno.EDQUOT}:
            return True
        if "disk is full" in str(error) or "No space left" in str(error):
            return True
        if "disk I/O error" in str(error) and _sqlite_disk_nearly_full():
            return True  # WAL mode: opening the database must create its -shm/-wal files first
    return False


def _sqlite_disk_nearly_full(margin: int = 256 * 1024) -> bool:
    """Whether the filesystem of the SQLite database (if that is the database) has under ``margin`` bytes."""
    from django.conf import settings

    db = settings.DATABASES.get("default", {})
    if not str(db.get("ENGINE", "")).endswith("sqlite3"):
        return False
    try:
        return disk_free_bytes(Path(str(db["NAME"])).parent) < margin
    except (OSError, KeyError):
        return False


def describe_disk_error(exc: BaseException, path: Path | str) -> dict[str, object]:
    """Log fields for a failed write: the path, the error and the free space left."""
    try:
        free = disk_free_bytes(Path(path))
    except OSError:
        free = -1
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return {"path": str(path), "error": message, "errno": getattr(exc, "errno", None), "free_bytes": free}
