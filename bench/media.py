"""Media figures: a resolver cache hit, and the memory the network fallback needs for a 20 MB file.

1. ``media_cache_hit_us``: ``MediaResolver.resolve()`` when the rendition is in the in-memory LRU
   (what every reaction after the first costs). Floor: a plain ``dict.get`` of the same key, same
   run. Goal: under 50 us.
2. ``media_fetch_rss_growth_mib``: peak RSS growth over the idle process while the fallback's
   download step (httpx stream -> temporary file -> sha256 -> rename, ``media_fetch`` on the
   resolver's own client) fetches a 20 MB file from a local HTTP server (a separate process).
   Sampled every 0.5 ms in a fresh child process after a warm-up fetch. Floor: the same download
   with urllib + ``shutil.copyfileobj`` in the same child (usually ~0; the ratio divides by at least
   0.1 MiB, below which RSS sampling is noise). Goal: growth under 2 MiB.

    python bench/media.py [--hits 200000] [--mb 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HIT_GOAL_US = 50.0
RSS_GOAL_MIB = 2.0


def setup_django(media_root: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
    os.environ["BLACKSKY_DOTENV"] = "0"
    os.environ["MEDIA_ROOT"] = media_root
    os.environ["MEDIA_STARTER_PACK"] = "false"
    os.environ["DATABASE_URL"] = f"sqlite:///{media_root}/bench.sqlite3"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_cache_hit(hits: int) -> tuple[float, float]:
    from media_cdn.models import GifAsset, GifRendition
    from media_cdn.resolver import MediaResolver
    from media_cdn.starter import STARTER_DIR

    data = (STARTER_DIR / "hug.gif").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    asset = GifAsset.objects.create(
        name="hug", sha256=sha, bytes=len(data), width=240, height=240, frames=12, duration_seconds=1.08
    )
    GifRendition.objects.create(
        asset=asset, kind="gif", mimetype="image/gif", sha256=sha, bytes=len(data), width=240, height=240,
        path=f"renditions/{sha}.gif", data=data,
    )  # fmt: skip
    resolver = MediaResolver(cache_bytes=32 * 1024 * 1024)
    assert resolver.resolve("hug", kind="gif") is not None  # cold: from the database copy
    started = time.perf_counter()
    for _ in range(hits):
        resolver.resolve("hug", kind="gif")
    ours = (time.perf_counter() - started) / hits

    plain = {("hug", "gif"): object()}
    started = time.perf_counter()
    for _ in range(hits):
        plain.get(("hug", "gif"))
    floor = (time.perf_counter() - started) / hits
    return ours * 1e6, floor * 1e6


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class PeakSampler:
    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.0005)

    def __enter__(self) -> PeakSampler:
        self.peak = rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


def child_fetch(url: str, small_url: str, sha: str, small_sha: str, size: int, small_size: int, workdir: str) -> None:
    """Runs in a fresh process: warm up, then measure ours and the floor."""
    setup_django(workdir)
    from media_cdn.resolver import MediaResolver, media_fetch

    resolver = MediaResolver()
    client = resolver._http()  # the very client the fallback uses
    dest_dir = Path(workdir) / "cache"
    # Warm-up: imports, connection pool, first-use allocations.
    media_fetch(client, small_url, sha256=small_sha, max_bytes=small_size, dest=dest_dir / "small.bin")
    with urllib.request.urlopen(small_url) as response, open(dest_dir / "small2.bin", "wb") as out:
        shutil.copyfileobj(response, out, 64 * 1024)

    idle = rss()
    with PeakSampler() as sampler:
        media_fetch(client, url, sha256=sha, max_bytes=size, dest=dest_dir / "big.bin")
    ours = sampler.peak - idle
    assert (dest_dir / "big.bin").stat().st_size == size

    idle_floor = rss()
    with PeakSampler() as sampler:
        with urllib.request.urlopen(url) as response, open(dest_dir / "big2.bin", "wb") as out:
            shutil.copyfileobj(response, out, 64 * 1024)
    floor = sampler.peak - idle_floor
    print(json.dumps({"ours": ours, "floor": floor, "idle": idle}))


def bench_fetch(megabytes: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        served = Path(tmp) / "served"
        served.mkdir()
        big = served / "big.mp4"
        chunk = os.urandom(1024 * 1024)
        digest = hashlib.sha256()
        with big.open("wb") as out:
            for _ in range(megabytes):
                out.write(chunk)
                digest.update(chunk)
        small = served / "small.mp4"
        small_data = os.urandom(200 * 1024)
        small.write_bytes(small_data)
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(served)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port NNNN ..."
            port = int(line.split(" port ")[1].split()[0])
            base = f"http://127.0.0.1:{port}"
            work = Path(tmp) / "child"
            work.mkdir()
            done = subprocess.run(
                [
                    sys.executable, __file__, "--child", f"{base}/big.mp4", f"{base}/small.mp4", digest.hexdigest(),
                    hashlib.sha256(small_data).hexdigest(), str(big.stat().st_size), str(len(small_data)), str(work),
                ],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(10)
        if done.returncode != 0:
            raise SystemExit(f"child failed: {done.stderr.strip().splitlines()[-1:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
    mib = 1024 * 1024
    return report["ours"] / mib, report["floor"] / mib, report["idle"] / mib


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=200_000)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, small_url, sha, small_sha, size, small_size, workdir = args.child
        child_fetch(url, small_url, sha, small_sha, int(size), int(small_size), workdir)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        setup_django(tmp)
        hit_us, hit_floor_us = bench_cache_hit(args.hits)
    growth, growth_floor, idle = bench_fetch(args.mb)

    print(f"cache hit: {hit_us:.2f} us/resolve; dict.get floor {hit_floor_us:.3f} us")
    print(
        f"{args.mb} MB fetch: peak RSS +{growth:.2f} MiB over an idle {idle:.1f} MiB; urllib floor +{growth_floor:.2f} MiB"
    )
    print(
        f"RESULT media_cache_hit_us value={hit_us:.2f} floor={hit_floor_us:.3f} "
        f"ratio={hit_us / hit_floor_us:.1f} goal=<{HIT_GOAL_US:g}us"
    )
    print(
        f"RESULT media_fetch_rss_growth_mib value={growth:.2f} floor={growth_floor:.2f} "
        f"ratio={growth / max(growth_floor, 0.1):.2f} goal=<{RSS_GOAL_MIB:g}MiB"
    )
    return 0 if hit_us < HIT_GOAL_US and growth < RSS_GOAL_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
