"""The web dyno's gunicorn: workers are recycled by memory, never by a request count."""

from __future__ import annotations

import http.client
import importlib.util
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _conf(env: dict[str, str], monkeypatch) -> object:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_request_count_recycles_a_worker_and_each_worker_gets_its_share_of_the_memory(monkeypatch) -> None:
    conf = _conf({"MEMORY_LIMIT_MB": "512", "WEB_CONCURRENCY": "2"}, monkeypatch)
    assert conf.max_requests == 0
    assert conf.RSS_LIMIT_BYTES == 217 * 2**20  # 85 % of 512 MB over two workers
    assert 0 < conf.worker_rss_bytes() < 4 * 2**30  # this very process, read from /proc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_worker_above_its_memory_share_retires_gracefully_and_no_request_fails(subprocess_env) -> None:
    port = _free_port()
    subprocess_env.update({"MEMORY_LIMIT_MB": "1", "WEB_CONCURRENCY": "1", "PORT": str(port)})  # every worker is over
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "blacksky_site.wsgi"], env=subprocess_env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        statuses = []
        while len(statuses) < 250 and time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz?live=1")
                statuses.append(conn.getresponse().status)
                conn.close()
            except ConnectionRefusedError:
                time.sleep(0.05)  # the first worker is still booting
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert statuses == [200] * 250, log
    assert len(re.findall(r"web worker retiring: rss=\d+ MB above its share", log)) >= 2, log
    assert len(re.findall(r"Booting worker with pid", log)) >= 3, log  # replaced each time, by the master
