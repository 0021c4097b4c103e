"""The web app without its database: one line at boot, 503 with a sentence for every page that needs it,
one log line a minute instead of a traceback per request; /healthz still says ``database``.

A real gunicorn on a DATABASE_URL whose port nothing listens on (its password must never show).
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blacksky_site import database_outage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CLOSED = "postgres://app:db-pass-0077@127.0.0.1:9/app"  # port 9: nothing listens
NEEDS_DATABASE = ("/gifs/hug.gif", "/dashboard/", "/admin/")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, cookie: str = "") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.request("GET", path, headers={"Host": "127.0.0.1", **({"Cookie": cookie} if cookie else {})})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, response.getheader("Retry-After") or "", body


def test_pages_answer_503_with_one_line_at_boot_and_one_per_minute_never_a_traceback(subprocess_env) -> None:
    port = _free_port()
    subprocess_env.update(
        {
            "DATABASE_URL": CLOSED,
            "DJANGO_SETTINGS_MODULE": "tests.settings",  # static files from the finders: no collectstatic here
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
        }
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "blacksky_site.wsgi"], env=subprocess_env, cwd=ROOT, stderr=subprocess.STDOUT,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    answers = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = _get(port, "/healthz")
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        no_database = [(path, _get(port, path)[0]) for path in ("/", "/admin/login/")]
        for _ in range(10):  # a GIF, and a signed-in operator's pages (the session is read from the database)
            for path in NEEDS_DATABASE:
                answers.append((path, *_get(port, path, cookie="sessionid=abcdefghijklmnopqrstuvwxyz012345")))
    finally:
        server.terminate()
        log, _ = server.communicate(timeout=30)
    assert health[0] == 503 and "database" in health[2]
    assert {(path, status, retry) for path, status, retry, _ in answers} == {
        (path, 503, "30") for path in NEEDS_DATABASE
    }, log
    assert no_database == [("/", 200), ("/admin/login/", 200)]  # pages that need no database still answer
    assert "database cannot be reached" in answers[0][3]
    assert "Traceback" not in log and "db-pass-0077" not in log
    assert log.count("cannot reach the database at 'postgres://127.0.0.1:9' (Connection refused)") == 2, log
    assert log.count("the web app starts and answers 503 meanwhile") == 1, log  # the boot line
    assert log.count("web pages answer 503 until it is back refused_requests=1") == 1, log  # then quiet a minute
    assert "Internal Server Error" not in log and "Service Unavailable: /gifs" not in log


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_under_load_is_one_line_a_minute_with_the_count_of_refused_requests(caplog) -> None:
    clock = _Clock()
    outage = database_outage._OutageLog(clock)
    error = OSError("Connection refused")
    with caplog.at_level("WARNING", logger="blacksky_site.database"):
        for _ in range(500):
            outage.record(error)
            clock.now += 0.1  # 500 requests in 50 s
        clock.now += 10.1
        outage.record(error)
    counts = [record.refused_requests for record in caplog.records]
    assert counts == [1, 500]
