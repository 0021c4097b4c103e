"""A SIGKILLed worker leaves no django-q2 cluster behind: its processes get SIGTERM when their parent dies."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_a_killed_worker_s_cluster_processes_end_with_it(runbot_env, tmp_path) -> None:  # noqa: F811
    bot = Runbot(["--transport", "neonize", "--session", "orphans"], runbot_env, tmp_path)  # offline: it redials
    bot.wait_for(r"scheduler started", timeout=60)
    worker = psutil.Process(bot.process.pid)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(worker.children(recursive=True)) < 3:
        time.sleep(0.2)  # the sentinel, its pusher, monitor and worker, and the bot child
    family = worker.children(recursive=True)
    assert len(family) >= 3, [p.cmdline() for p in family]
    os.kill(bot.process.pid, signal.SIGKILL)
    bot.process.wait(10)
    gone, alive = psutil.wait_procs(family, timeout=20)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]
