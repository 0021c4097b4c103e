"""Memory of the bot child, each figure against a floor measured in the same run.

1. ``pipeline_growth_mib``: 100,000 simulated messages (commands, plain chat, unknown commands,
   from 2,000 users in private and group chats) through the child's real pipeline — BotRuntime with
   its bounded inbox, dispatcher threads, the router, the paced outbound (limits off) and the stats
   flush to the database — on an in-memory transport that counts sends without keeping them. RSS
   after a 2,000-message warm-up vs after the run. Goal: growth < 5 MiB (nothing grows per message).
2. ``idle_child_rss_ratio``: a bot child (Django, router, runtime, the real neonize transport after
   one offline connect attempt) over a bare neonize client after one offline connect, each in a
   fresh process. Goal <= 1.3x.
3. ``progressive_loading``: child start time and idle RSS with lazy command modules and media stack
   (ours) and with every command module and the media stack imported up front (the floor is ours;
   the figure reports what lazy loading saves).

    python bench/memory.py [--messages 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024

SETUP = textwrap.dedent(
    """
    import os, sys, time, tempfile
    sys.path.insert(0, {root!r})
    tmp = os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="blacksky-bench-mem-")
    os.environ.update(DJANGO_SETTINGS_MODULE="blacksky_site.settings", BLACKSKY_DOTENV="0",
        SECRET_KEY=__import__("secrets").token_urlsafe(40), LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite:///{{tmp}}/b.sqlite3", WA_STORE_DIR=tmp, WA_PROXY="socks5://127.0.0.1:9",
        MEDIA_STARTER_PACK="false")
    """
)


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


_TMP = tempfile.mkdtemp(prefix="blacksky-bench-mem-")


def in_subprocess(code: str) -> dict:
    env = {**os.environ, "BENCH_TMP": _TMP}
    proc = subprocess.run([sys.executable, "-c", SETUP.format(root=str(ROOT)) + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"subprocess failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


BARE_NEONIZE = """
import json
from neonize.client import NewClient
from neonize.utils import log
import logging
log.setLevel(logging.ERROR)
client = NewClient(os.path.join(tmp, "bare.sqlite3"), uuid="bare")
t = threading_ = __import__("threading").Thread(target=lambda: _safe(client.connect), daemon=True)
def _safe(fn):
    try:
        fn()
    except Exception:
        pass
t.start(); t.join(20); time.sleep(1.0)
print(json.dumps({"rss": int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")}))
os._exit(0)
"""

CHILD = """
import json, threading
os.environ["BLACKSKY_PROCESS"] = "bot-child"  # as the supervisor starts it: the lean app list
started = time.perf_counter()
import django
django.setup()
migrated = time.perf_counter()  # the database was migrated by another process, as on a real worker
EAGER = {eager}
from bot.child.runtime import BotRuntime
from bot.transport.neonize.client import NeonizeTransport
from sessions_store.store import store_for
if EAGER:
    import importlib, pkgutil, bot.commands, media_cdn.resolver, httpx
    for mod in pkgutil.iter_modules(bot.commands.__path__):
        importlib.import_module(f"bot.commands.{{mod.name}}")
transport = NeonizeTransport(session_name="bench", dsn=store_for("bench").dsn)
runtime = BotRuntime(transport=transport, session_name="bench")
thread = threading.Thread(target=runtime.run, daemon=True)
thread.start()
ready = time.perf_counter()
time.sleep(3.0)
print(json.dumps({{"rss": int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE"),
                  "start_s": ready - migrated, "modules": len(sys.modules)}}))
os._exit(0)
"""


def pipeline_growth(messages: int) -> tuple[float, float, float]:
    tmp = tempfile.mkdtemp(prefix="blacksky-bench-pipeline-")
    os.environ.update(DJANGO_SETTINGS_MODULE="blacksky_site.settings", BLACKSKY_DOTENV="0",
                      SECRET_KEY=__import__("secrets").token_urlsafe(40), LOG_LEVEL="ERROR",
                      DATABASE_URL=f"sqlite:///{tmp}/p.sqlite3", WA_STORE_DIR=tmp, MEDIA_STARTER_PACK="false",
                      OUTBOUND_PER_MINUTE="0", USER_COMMANDS_PER_MINUTE="0", TYPING_SECONDS="0")  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bot.child.runtime import BotRuntime
    from bot.dispatch import build_router
    from bot.dispatch.limits import PacingConfig
    from bot.transport.base import IncomingMessage
    from tests.support.memory_transport import MemoryTransport

    class CountingTransport(MemoryTransport):
        """Counts sends without keeping them (the recording list would be the leak)."""

        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def send(self, reply):  # type: ignore[override]
            self.count += 1
            return super().send(reply) if False else _RESULT

    from bot.transport.base import SendResult

    _RESULT = SendResult(id="X")
    transport = CountingTransport()
    router = build_router(transport=transport, session_name="mem", pacing=PacingConfig(enabled=False))
    runtime = BotRuntime(transport=transport, session_name="mem", router=router,
                         flush_interval=1.0)  # fmt: skip
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    while not transport.connected:
        time.sleep(0.01)
    texts = (".ping", "hello there", ".uptime", ".nosuchcommand", ".8ball will it?", ".help", ".roll 6")

    def feed(start: int, count: int) -> None:
        for n in range(start, start + count):
            user = f"1555{n % 2000:07d}@s.whatsapp.net"
            chat = user if n % 3 else f"12036300000{n % 50:07d}@g.us"
            while runtime.inbox.qsize() > 800:
                time.sleep(0.001)
            transport.deliver(IncomingMessage(id=f"M{n:09d}", chat=chat, sender=user, is_group=chat.endswith("@g.us"),
                                              text=texts[n % len(texts)]))  # fmt: skip
        while runtime.inbox.unfinished_tasks:
            time.sleep(0.01)

    feed(0, 2000)
    gc.collect()
    time.sleep(1.5)
    before = rss()
    started = time.perf_counter()
    feed(2000, messages)
    took = time.perf_counter() - started
    gc.collect()
    time.sleep(1.5)
    after = rss()
    runtime.request_stop()
    thread.join(15)
    print(f"pipeline: {messages} messages in {took:.1f}s ({messages / took:.0f}/s), sends={transport.count}, "
          f"dropped={runtime.dropped}, rss {before / MIB:.1f} -> {after / MIB:.1f} MiB", file=sys.stderr)  # fmt: skip
    return (after - before) / MIB, before / MIB, after / MIB


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()

    # The measured child does not migrate (a worker never does: the release phase did): prepare once.
    in_subprocess("import django, json\ndjango.setup()\nfrom django.core.management import call_command\n"
                  "call_command('migrate', verbosity=0)\nprint(json.dumps({}))")  # fmt: skip
    bare = in_subprocess(BARE_NEONIZE)["rss"]
    # Alternate lazy and eager runs and keep each one's best: one sample is at the mercy of the machine.
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(3):
        for eager_flag in (False, True):
            runs[eager_flag].append(in_subprocess(CHILD.format(eager=eager_flag)))
    lazy = {"rss": min(r["rss"] for r in runs[False]), "start_s": min(r["start_s"] for r in runs[False]),
            "modules": runs[False][0]["modules"]}  # fmt: skip
    eager = {"rss": min(r["rss"] for r in runs[True]), "start_s": min(r["start_s"] for r in runs[True]),
             "modules": runs[True][0]["modules"]}  # fmt: skip
    ratio = lazy["rss"] / bare
    print(f"bare neonize client after one offline connect: {bare / MIB:.1f} MiB", file=sys.stderr)
    print(f"idle child, lazy loading: {lazy['rss'] / MIB:.1f} MiB, start {lazy['start_s']:.2f}s, {lazy['modules']} modules",
          file=sys.stderr)  # fmt: skip
    print(f"idle child, eager loading: {eager['rss'] / MIB:.1f} MiB, start {eager['start_s']:.2f}s, "
          f"{eager['modules']} modules", file=sys.stderr)  # fmt: skip

    growth, before, after = pipeline_growth(args.messages)
    print(f"RESULT pipeline_growth_mib value={growth:.2f} floor=0 ratio=- goal=<5")
    print(
        f"RESULT idle_child_rss_mib value={lazy['rss'] / MIB:.1f} floor={bare / MIB:.1f} ratio={ratio:.2f} goal=<=1.3"
    )
    print(f"RESULT child_start_s value={lazy['start_s']:.2f} floor={eager['start_s']:.2f} "
          f"ratio={lazy['start_s'] / eager['start_s']:.2f} goal=<1 (lazy vs eager)")  # fmt: skip
    print(f"RESULT child_idle_rss_lazy_mib value={lazy['rss'] / MIB:.1f} floor={eager['rss'] / MIB:.1f} "
          f"ratio={lazy['rss'] / eager['rss']:.2f} goal=<1 (lazy vs eager)")  # fmt: skip
    missed = [f"pipeline growth {growth:.2f} MiB >= 5"] if growth >= 5 else []
    if ratio > 1.3:
        missed.append(f"idle child {ratio:.2f}x a bare neonize client > 1.3x (Django's ORM and app registry)")
    if missed:
        print("goal missed: " + "; ".join(missed), file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
