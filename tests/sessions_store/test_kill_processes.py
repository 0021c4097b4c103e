"""SIGKILL a real ``backup_session`` or ``restore_session`` at a known point, then recover at once.

Each killed process is ``tests/sessions_store/command_child.py`` running the real command, stopped
at a checkpoint (``AT <point>`` on its stdout) so the kill lands inside the work every time. The
recovery is the real ``manage.py`` command, as an operator (or runbot's start) runs it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sessions_store.store import SqliteStore

from .factories import make_paired_store

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "sessions_store" / "command_child.py"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _stopped_at(env: dict[str, str], point: str, *command: str) -> subprocess.Popen:
    """Run ``command`` until it reaches ``point``; it waits there until killed."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), point, *command],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.strip() == f"AT {point}":
            return proc
    proc.kill()
    raise AssertionError(f"the command ended (rc={proc.wait(timeout=10)}) before {point}: {''.join(seen)}")


def _kill(proc: subprocess.Popen) -> int:
    """SIGKILL and reap; the dead process's pid."""
    try:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.wait(timeout=10)
    return proc.pid


def _killed_at(env: dict[str, str], point: str, *command: str) -> int:
    return _kill(_stopped_at(env, point, *command))


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _restore_temps(store) -> list[str]:
    if not isinstance(store, SqliteStore):
        return []
    return sorted(p.name for p in store.directory.iterdir() if ".restore-" in p.name)  # with any -journal


def _stores(names: list[str]) -> list[str]:
    return [name for name in names if name.endswith(".sqlite3")]


def test_a_backup_killed_mid_work_does_not_block_a_forced_restore(child_env):
    make_paired_store("kill-me")
    pid = _killed_at(child_env, "pack", "backup_session", "--session", "kill-me")
    result = _manage(child_env, "restore_session", "--session", "kill-me", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kill-me: restored backup #" in result.stdout
    [takeover] = [line for line in result.stdout.splitlines() if "lock taken over" in line]
    assert "lock=backup" in takeover and f":{pid}" in takeover and 'reason="its process is gone"' in takeover


def test_a_restore_killed_mid_write_leaves_nothing_after_the_next_start(child_env):
    store = make_paired_store("kill-me")
    restoring = _stopped_at(child_env, "restore_write", "restore_session", "--session", "kill-me", "--force")
    try:
        at_work = _restore_temps(store)
        # While it lives, a start neither restores nor touches its temporary store.
        busy = _manage(child_env, "restore_session", "--session", "kill-me")
        assert busy.returncode != 0 and "another restore of session kill-me is running" in busy.stderr
        assert _restore_temps(store) == at_work
    finally:
        pid = _kill(restoring)
    orphans = _restore_temps(store)
    if isinstance(store, SqliteStore):
        assert orphans and all(f".restore-{pid}-" in name for name in orphans)  # what the kill left
    start = _manage(child_env, "restore_session", "--session", "kill-me")  # runbot's start runs this chain
    assert start.returncode == 0, start.stdout + start.stderr
    assert "live store kept" in start.stdout and store.health().healthy
    assert _restore_temps(store) == []
    lines = start.stdout.splitlines()
    assert any("lock taken over" in line and "lock=restore" in line for line in lines)
    if isinstance(store, SqliteStore):
        [removed] = [line for line in lines if "leftovers removed" in line]
        assert f"count={len(_stores(orphans))}" in removed and all(name in removed for name in _stores(orphans))
        assert "bytes=" in removed and "bytes=0 " not in removed
        assert f"removed leftovers: {', '.join(_stores(orphans))}" in start.stdout
