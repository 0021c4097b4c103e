"""gunicorn settings for the web dyno. Never `preload_app`: forking after neonize is imported hangs."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured

from blacksky_site.config import VARIABLES as _VARIABLES
from blacksky_site.config import get as _setting  # not `config`: gunicorn reads that name as its -c

# Every declared variable is parsed here, in the master, before any worker forks: a bad value stops
# the server with one sentence. Left to the workers, each prints it and the master's halt races
# their exits into a traceback of its own.
try:
    if os.environ.get("BLACKSKY_DOTENV", "1") != "0":  # as settings.py does: `make run` keeps its values in .env
        import environ as _environ

        _environ.Env.read_env(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".env"))
    for _variable in _VARIABLES:
        _setting(_variable.name)
except ImproperlyConfigured as _error:
    sys.stderr.write(f"configuration error: {_error}\n")
    sys.exit(3)

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = 30
graceful_timeout = 25
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms'
forwarded_allow_ips = "*"

# Recycling by memory, not by request count. max_requests=2000 replaced each worker every few
# seconds under sustained load, and each replacement is a cold Django start while the other worker
# carries all the traffic (one run: p99 614 ms against 28 ms without recycling; bench in the README).
# A count says nothing about a leak; the RSS does. So: no count, and every RSS_CHECK_EVERY requests
# a worker reads its RSS (/proc/self/statm, microseconds) and retires gracefully (in-flight requests
# finish, the master starts a fresh one) once it holds more than its share of the dyno's memory.
max_requests = 0
RSS_CHECK_EVERY = 100
RSS_LIMIT_BYTES = int(_setting("MEMORY_LIMIT_MB") * 0.85 / max(1, workers)) * 1024 * 1024
_served = 0


def worker_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0  # not Linux: no memory-based recycling


def post_request(worker, req, environ, resp) -> None:
    global _served
    _served += 1
    if _served % RSS_CHECK_EVERY:
        return
    rss = worker_rss_bytes()
    if rss > RSS_LIMIT_BYTES and worker.alive:
        worker.log.warning(
            "web worker retiring: rss=%d MB above its share of MEMORY_LIMIT_MB (%d MB) after %d requests",
            rss // 2**20,
            RSS_LIMIT_BYTES // 2**20,
            _served,
        )
        worker.alive = False
