# ruff: noqa: F811 - the private_pg fixture imported from tests.support.private_pg is a parameter here
"""An unreachable database at start: one sentence, never a traceback. ``manage.py`` commands stop
with it (exit 1); the worker says it once and waits, then starts when the database comes back.
The database is a private PostgreSQL the test stops and starts (never the machine's shared one)."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.support.private_pg import PrivatePostgres, private_pg  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow
CLOSED = "postgres://app:db-pass-0042@127.0.0.1:9/app"  # port 9: nothing listens


def test_a_command_without_its_database_says_so_in_one_line(subprocess_env, manage_py) -> None:
    env = {**subprocess_env, "DATABASE_URL": CLOSED}
    done = subprocess.run([*manage_py, "migrate", "--noinput"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "database error: cannot reach the database at 'postgres://127.0.0.1:9' (Connection refused); "
        "check DATABASE_URL and that the server is up"
    ]
    assert "db-pass-0042" not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr


def test_the_worker_waits_for_its_database_then_starts(subprocess_env, manage_py, private_pg: PrivatePostgres) -> None:
    env = {**subprocess_env, "DATABASE_URL": private_pg.url}
    subprocess.run([*manage_py, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120)
    private_pg.stop()
    worker = subprocess.Popen(
        [*manage_py, "runbot", "--session", "waits", "--transport", "console", "--no-scheduler"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(8)
        assert worker.poll() is None, "the worker crashed instead of waiting"
        private_pg.start()
        time.sleep(8)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=40)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert output.count(f"cannot reach the database at 'postgres://127.0.0.1:{private_pg.port}'") == 1, output
    assert "database reachable again" in output and "bot child started" in output
    assert "Traceback" not in output


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_worker_waits_for_its_redis_broker_then_starts(subprocess_env, manage_py, tmp_path) -> None:
    import shutil

    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()  # a private Redis the test starts later (never the machine's own)
    env = {
        **subprocess_env,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "REDIS_URL": f"redis://:redis-pass-0042@127.0.0.1:{port}/0",
    }
    subprocess.run([*manage_py, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120)
    worker = subprocess.Popen(
        [*manage_py, "runbot", "--session", "broker", "--transport", "tests.support.memory_transport:MemoryTransport"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    redis = None
    try:
        time.sleep(6)
        assert worker.poll() is None, "the worker crashed instead of waiting"
        redis = subprocess.Popen(
            [server_binary, "--port", str(port), "--save", "", "--appendonly", "no", "--requirepass", "redis-pass-0042"],
            stdout=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        time.sleep(8)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=40)
    finally:
        for process in (worker, redis):
            if process is not None and process.poll() is None:
                process.kill()
    assert output.count(f"cannot reach Redis at 'redis://127.0.0.1:{port}' (Connection refused)") == 1, output
    assert "Redis reachable again" in output and "scheduler started" in output, output
    assert "redis-pass-0042" not in output and "Traceback" not in output
