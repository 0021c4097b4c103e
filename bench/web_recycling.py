"""gunicorn worker recycling under sustained load: p99 of a cheap page with our policy, the old one and none.

Figure ``web_recycling_p99_ratio``: p99 latency of ``/healthz?live=1`` (no database: what is measured
is gunicorn and Django, and a worker's restart) under BENCH_SECONDS of keep-alive load from
BENCH_CLIENTS threads, with ``gunicorn.conf.py`` as shipped (no request-count recycling, RSS check
every 100 requests). Floor: the same server with no recycling at all (the RSS hook removed), run in the
same minute: recycling cannot be cheaper than not recycling. BENCH_ROUNDS interleaved rounds, the
median p99 of each policy. Also reported: the old policy
(``max_requests=2000``, jitter 200) over the same floor, the latency it cost.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
GOAL = 1.5


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _load(port: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client() -> None:
        mine: list[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", "/healthz?live=1")
                response = conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _serve(extra: list[str], conf: Path, tmp: Path) -> tuple[float, int, int]:
    port = _port()
    env = {
        **os.environ,
        "BLACKSKY_DOTENV": "0",
        "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    log = tmp / f"gunicorn-{port}.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "blacksky_site.wsgi",
                "-c",
                str(conf),
                *extra,
                "--access-logfile",
                "/dev/null",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            _load(port)  # warm-up: both workers booted and imported
            latencies = sorted(_load(port))
        finally:
            server.terminate()
            server.wait(timeout=30)
    boots = log.read_text().count("Booting worker")
    p99 = latencies[int(len(latencies) * 0.99)]
    return p99, len(latencies), boots


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="blacksky-bench-recycle-") as name:
        tmp = Path(name)
        shipped = ROOT / "gunicorn.conf.py"
        floor_conf = tmp / "no_recycling.conf.py"
        floor_conf.write_text(f"exec(open({str(shipped)!r}).read())\ndel post_request\n")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            check=True,
            env={
                **os.environ,
                "BLACKSKY_DOTENV": "0",
                "SECRET_KEY": "b" * 50,
                "MEDIA_STARTER_PACK": "false",
                "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            },
        )
        # Interleaved rounds, median p99 per policy: a shared machine's noise hits all three alike.
        runs: dict[str, list[tuple[float, int, int]]] = {"floor": [], "ours": [], "old": []}
        for _ in range(ROUNDS):
            runs["floor"].append(_serve([], floor_conf, tmp))
            runs["ours"].append(_serve([], shipped, tmp))
            runs["old"].append(_serve(["--max-requests", "2000", "--max-requests-jitter", "200"], shipped, tmp))
    (floor, n_floor, _), (ours, n_ours, boots_ours), (old, n_old, boots_old) = (
        sorted(runs[name])[len(runs[name]) // 2] for name in ("floor", "ours", "old")
    )
    ms = 1000
    print(f"no recycling: p99 {floor * ms:.1f} ms over {n_floor} requests")
    print(f"shipped (memory-based): p99 {ours * ms:.1f} ms over {n_ours} requests, worker boots {boots_ours}")
    print(f"old max_requests=2000: p99 {old * ms:.1f} ms over {n_old} requests, worker boots {boots_old}")
    print(
        f"RESULT web_recycling_p99_ratio value={ours * ms:.1f}ms floor={floor * ms:.1f}ms ratio={ours / floor:.2f} goal=<={GOAL}"
    )
    print(
        f"RESULT web_recycling_old_p99_ratio value={old * ms:.1f}ms floor={floor * ms:.1f}ms ratio={old / floor:.2f} goal=reported"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
