"""A full disk, for real: a tiny tmpfs mounted by the test (CI runs as root).

Nothing half-written may be left as if it were whole: the restored store, the backup row and
temp files either exist completely or not at all, and the error names the path and the free space.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def tiny_disk(path: Path, *, size_kb: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk tests (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(disk: Path, *, leave_bytes: int = 0) -> None:
    """Fill the disk with one file, leaving about ``leave_bytes`` free."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb") as handle:
        with contextlib.suppress(OSError):
            handle.write(b"\0" * max(0, free - leave_bytes))


@pytest.mark.django_db
def test_a_restore_onto_a_full_disk_leaves_the_store_dir_clean_and_the_backups_intact(settings, tmp_path, caplog):
    if settings.DB_IS_POSTGRES:
        pytest.skip("the live store is a PostgreSQL schema here; the disk only matters for SQLite stores")
    from sessions_store.models import SessionBackup
    from sessions_store.services import backup_create, session_restore_chain
    from tests.sessions_store.factories import make_paired_store

    settings.WA_STORE_DIR = tmp_path / "roomy"
    make_paired_store("diskfull")
    backup = backup_create(session_name="diskfull", reason="manual")
    assert backup.state == "verified"

    with tiny_disk(tmp_path / "tiny", size_kb=256) as disk:
        settings.WA_STORE_DIR = disk
        fill(disk, leave_bytes=8 * 1024)
        with caplog.at_level(logging.ERROR), pytest.raises(Exception) as info:
            session_restore_chain(session_name="diskfull")
        message = str(info.value)
        assert "No space left" in message and str(disk) in message and "bytes free" in message
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no store, no temp leftovers
        line = next(r for r in caplog.records if r.getMessage() == "disk full writing the restored store")
        assert line.path == str(disk) and isinstance(line.free_bytes, int)
        # Room again: the very same backup restores (it was never marked corrupt).
        (disk / "filler").unlink()
        assert SessionBackup.objects.get(pk=backup.pk).state == "verified"
        outcome = session_restore_chain(session_name="diskfull")
        assert outcome.source == "backup" and not outcome.needs_pairing


def test_a_backup_into_a_full_database_stores_nothing_and_says_so(subprocess_env, manage_py, tmp_path):
    """SQLite database on a full disk: the command fails with one sentence; no verified row appears."""
    with tiny_disk(tmp_path / "dbdisk", size_kb=6144) as disk:
        env = {
            **subprocess_env,
            "DATABASE_URL": f"sqlite:///{disk / 'db.sqlite3'}",
            "WA_STORE_DIR": str(tmp_path / "wa"),
        }
        migrate = subprocess.run(
            [*manage_py, "migrate", "--noinput"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        assert migrate.returncode == 0, migrate.stderr
        seed = (
            "import django; django.setup(); "
            "from tests.sessions_store.factories import make_paired_store; make_paired_store('full'); "
            "from sessions_store.services import session_get_or_create; session_get_or_create(name='full')"
        )
        made = subprocess.run(
            [sys.executable, "-c", seed], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        assert made.returncode == 0, made.stderr
        fill(disk, leave_bytes=4 * 1024)
        backup = subprocess.run(
            [*manage_py, "backup_session", "--session", "full"],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert backup.returncode != 0
        assert "No space left to store the backup" in backup.stderr, backup.stderr
        assert "Traceback" not in backup.stderr
        (disk / "filler").unlink()
        count = (
            "import django; django.setup(); from sessions_store.models import SessionBackup; "
            "print(SessionBackup.objects.filter(state='verified').count(), SessionBackup.objects.count())"
        )
        rows = subprocess.run(
            [sys.executable, "-c", count], env=env, capture_output=True, text=True, cwd=ROOT, timeout=60
        )
        assert rows.stdout.split() == ["0", "0"], rows.stdout + rows.stderr


def test_a_temp_file_on_a_full_disk_fails_cleanly_and_leaves_nothing(settings, tmp_path):
    from blacksky_site import tempfiles

    with tiny_disk(tmp_path / "tmpdisk", size_kb=128) as disk:
        settings.TEMP_DIR = str(disk)
        tempfiles._process_dir = None
        fill(disk, leave_bytes=0)
        with pytest.raises(OSError) as info, tempfiles.temp_path(".mp4") as path:
            with open(path, "wb") as handle:
                handle.write(b"x" * 64 * 1024)
                handle.flush()
                os.fsync(handle.fileno())
        assert tempfiles.is_disk_full(info.value)
        assert not path.exists()
        assert tempfiles.describe_disk_error(info.value, path)["free_bytes"] == 0
    tempfiles._process_dir = None


@pytest.mark.django_db
def test_import_gifs_on_a_full_temp_disk_fails_file_by_file_in_one_line_each_and_finishes(settings, tmp_path):
    import io
    import shutil

    from django.core.management import CommandError, call_command

    from blacksky_site import tempfiles
    from media_cdn.models import GifAsset
    from media_cdn.starter import STARTER_DIR, starter_pack_install

    (tmp_path / "media").mkdir()
    settings.MEDIA_ROOT = tmp_path / "media"
    if not GifAsset.objects.exists():
        starter_pack_install()
    folder = tmp_path / "in"
    folder.mkdir()
    for n, source in enumerate(sorted(STARTER_DIR.glob("*.gif"))[:2]):
        data = bytearray(source.read_bytes())
        data[-2:-2] = bytes([n + 1])  # new bytes (not a duplicate of the starter pack), still a GIF
        (folder / f"fresh{n}.gif").write_bytes(bytes(data))
    shutil.copy(sorted(STARTER_DIR.glob("*.gif"))[0], folder / "known.gif")  # a duplicate: needs no conversion
    before = GifAsset.objects.count()
    with tiny_disk(tmp_path / "tmpdisk", size_kb=256) as disk:
        settings.TEMP_DIR = str(disk)
        tempfiles._process_dir = None
        fill(disk, leave_bytes=0)
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match="file\\(s\\) failed"):
            call_command("import_gifs", str(folder), stdout=out, stderr=err)
        lines = err.getvalue().strip().splitlines()
        assert "Traceback" not in err.getvalue()
        failed = [line for line in lines if line.startswith("FAILED fresh")]
        assert len(failed) == 2 and all("no space left on the disk of" in line for line in failed), lines
        assert "3 file(s)" in out.getvalue()  # the batch went to its end
        assert GifAsset.objects.count() == before
        (disk / "filler").unlink()
        call_command("import_gifs", str(folder), stdout=io.StringIO(), stderr=io.StringIO())
        assert GifAsset.objects.count() == before + 2  # with room again, the same files import
    tempfiles._process_dir = None
