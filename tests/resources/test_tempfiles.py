"""Temp files: one directory per process, removed after use, swept after an hour, bounded."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from blacksky_site import tempfiles


@pytest.fixture(autouse=True)
def temp_root(settings, tmp_path: Path) -> Path:
    settings.TEMP_DIR = str(tmp_path / "tmp")
    settings.TEMP_DIR_MAX_MB = 1
    tempfiles._process_dir = None
    yield tmp_path / "tmp"
    tempfiles._process_dir = None


def test_temp_files_live_in_this_process_directory_and_go_after_use(temp_root: Path) -> None:
    with tempfiles.temp_path(".gif") as path:
        path.write_bytes(b"x" * 10)
        assert path.parent == tempfiles.process_temp_dir()
        assert path.parent.parent == temp_root
        assert path.parent.name.startswith(f"{os.getpid()}-")
    assert not path.exists()


def test_the_file_goes_even_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), tempfiles.temp_path() as path:
        path.write_bytes(b"partial")
        raise RuntimeError("conversion failed")
    assert not path.exists()


def test_the_sweep_removes_old_leftovers_of_a_crashed_process_and_keeps_fresh_files(temp_root: Path) -> None:
    dead = temp_root / "999999-1"
    dead.mkdir(parents=True)
    old = dead / "left.mp4"
    old.write_bytes(b"a" * 100)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(dead, (two_hours_ago, two_hours_ago))
    fresh = tempfiles.process_temp_dir() / "fresh.gif"
    fresh.write_bytes(b"b" * 10)
    result = tempfiles.temp_sweep()
    assert result.removed_files == 1 and result.removed_bytes == 100
    assert not old.exists()
    assert fresh.exists()
    assert result.kept_bytes == 10


def test_the_sweep_uses_the_given_clock(temp_root: Path) -> None:
    path = tempfiles.process_temp_dir() / "a.bin"
    path.write_bytes(b"z")
    assert tempfiles.temp_sweep(now=time.time() + 3601).removed_files == 1


def test_the_temp_directory_is_bounded() -> None:
    with tempfiles.temp_path() as path:
        path.write_bytes(b"x" * (900 * 1024))
        with pytest.raises(tempfiles.TempSpaceExceeded), tempfiles.temp_path(expected_bytes=200 * 1024):
            pass


def test_a_disk_error_is_described_with_path_and_free_space(tmp_path: Path) -> None:
    error = OSError(28, "No space left on device")
    fields = tempfiles.describe_disk_error(error, tmp_path / "missing" / "store.sqlite3")
    assert fields["path"].endswith("store.sqlite3")
    assert fields["errno"] == 28
    assert fields["error"] == "No space left on device"
    assert fields["free_bytes"] > 0


@pytest.mark.django_db
def test_the_child_heartbeat_reports_its_temp_dir_usage() -> None:
    from bot.child.runtime import BotRuntime
    from tests.support.memory_transport import MemoryTransport
    from tests.support.routers import PingRouter

    (tempfiles.process_temp_dir() / "partial.mp4").write_bytes(b"m" * 1234)
    runtime = BotRuntime(transport=MemoryTransport(), session_name="tmpbeat", router=PingRouter())
    assert runtime.beat().detail["temp_bytes"] == 1234
