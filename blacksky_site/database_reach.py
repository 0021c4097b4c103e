"""Can this process reach its database (and its Redis broker)? One sentence when not, never a traceback.

Used by ``manage.py`` (any command whose first query finds no database) and by the worker at start
(``runbot`` waits for the database instead of crashing: a dyno restarted by its host during a
database restart would otherwise crash, and Heroku backs crashed dynos off for up to 20 minutes).
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import connection
from django.db.utils import InterfaceError, OperationalError

from blacksky_site import config

logger = logging.getLogger("blacksky_site.database")

REMIND_EVERY = 60.0  # seconds between the "still unreachable" lines while waiting


def where_shown(raw: str) -> str:
    """``'postgres://db.example:5432'``: the scheme, host and port of a URL setting, never its credentials."""
    from urllib.parse import urlsplit

    shown = config.url_shown(raw).split(" (")[0]
    try:
        port = urlsplit(raw.strip()).port
    except ValueError:
        port = None
    return f"{shown[:-1]}:{port}'" if port and shown.endswith("'") else shown


def database_unreachable_sentence(exc: BaseException) -> str:
    """'cannot reach the database at postgres://db.example (connection refused); check DATABASE_URL ...'."""
    import os

    where = where_shown(os.environ.get("DATABASE_URL", "") or "sqlite:///db.sqlite3")
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for secret in config.secret_values():
        reason = reason.replace(secret, "[redacted]")
    if ": " in reason:  # psycopg: 'connection failed: connection to server at ... failed: Connection refused'
        reason = reason.rsplit(": ", 1)[-1]
    return f"cannot reach the database at {where} ({reason[:200]}); check DATABASE_URL and that the server is up"


def database_reachable() -> BaseException | None:
    """None when a connection opens (and answers), else the error."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return None
    except (OperationalError, InterfaceError) as exc:
        connection.close()
        return exc


def broker_unreachable_sentence(exc: BaseException) -> str:
    import os

    where = where_shown(os.environ.get("REDIS_URL", ""))
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for secret in config.secret_values():
        reason = reason.replace(secret, "[redacted]")
    reason = reason.rsplit(". ", 1)[-1].rstrip(".") if ". " in reason else reason
    return f"cannot reach Redis at {where} ({reason[:200]}); check REDIS_URL and that the server is up"


def broker_reachable() -> BaseException | None:
    """None when REDIS_URL is unset (the ORM broker) or Redis answers a PING within 3 s, else the error."""
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
        return None
    except (redis.RedisError, OSError) as exc:
        return exc


def database_wait(stop: threading.Event, *, poll: float = 5.0, what: str = "worker") -> bool:
    """Wait until the database answers (True) or ``stop`` is set (False); one line, then a reminder a minute."""
    return _wait(stop, database_reachable, database_unreachable_sentence, poll=poll, what=what, name="database")


def broker_wait(stop: threading.Event, *, poll: float = 5.0, what: str = "worker") -> bool:
    """The same for the django-q2 broker (Redis, when REDIS_URL is set)."""
    return _wait(stop, broker_reachable, broker_unreachable_sentence, poll=poll, what=what, name="Redis")


def _wait(stop: threading.Event, check, sentence, *, poll: float, what: str, name: str) -> bool:
    error = check()
    if error is None:
        return True
    started = time.monotonic()
    logger.error(f"{sentence(error)}; the {what} waits for it", extra={"retry_seconds": poll})
    reminded = started
    while not stop.wait(poll):
        error = check()
        if error is None:
            logger.info(f"{name} reachable again", extra={"waited_seconds": round(time.monotonic() - started, 1)})
            return True
        if time.monotonic() - reminded >= REMIND_EVERY:
            reminded = time.monotonic()
            logger.warning(sentence(error), extra={"waiting_seconds": round(reminded - started)})
    return False
