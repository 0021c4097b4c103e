"""The web's answer while its database is away: 503 and one line, never a 500 with a traceback per request.

Imported by gunicorn's workers (``wsgi.py`` calls :func:`database_check_at_boot`; the settings list
:class:`DatabaseOutageMiddleware`). ``/healthz`` says ``database`` by itself; every other page that
needs the database answers 503 with ``Retry-After`` while it cannot be reached. The log gets one
sentence (where, why, which variable to check; no password) at the first failure and then at most
one a minute with the count of refused requests, so an outage under load is a few lines, not
thousands of tracebacks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from blacksky_site.database_reach import database_reachable, database_unreachable_sentence

logger = logging.getLogger("blacksky_site.database")

LOG_EVERY = 60.0  # seconds between two lines about the same outage
RETRY_AFTER = 30  # seconds, the Retry-After header of the 503


class _OutageLog:
    """One line at the first failure, then one a minute with how many requests were refused meanwhile."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.last_logged: float | None = None
        self.refused = 0

    def record(self, exc: BaseException) -> None:
        with self.lock:
            self.refused += 1
            now = self.clock()
            if self.last_logged is not None and now - self.last_logged < LOG_EVERY:
                return
            refused, self.refused, self.last_logged = self.refused, 0, now
        logger.warning(
            f"{database_unreachable_sentence(exc)}; web pages answer 503 until it is back",
            extra={"refused_requests": refused},
        )


_log = _OutageLog()


class DatabaseOutageMiddleware:
    """A view (or its template) that finds no database answers 503 with a sentence, logged once a minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None  # a bug or a bad query: Django's 500 and its traceback, as ever
        connection.close()  # the next request opens a fresh one (the old socket may be dead)
        _log.record(exception)
        response = HttpResponse(
            _("The service is unavailable: its database cannot be reached right now. Try again in a minute."),
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": str(RETRY_AFTER)},
        )
        response._has_been_logged = True  # Django's own "Service Unavailable: /path" ERROR line would repeat it
        return response


def database_check_at_boot() -> None:
    """Say in one line, at a worker's boot, that the database cannot be reached; the worker serves anyway.

    It never exits: a web that waits answers ``/healthz`` 503 ``database`` and recovers by itself
    when the database is back, where a crashed dyno is backed off by the host for up to 20 minutes.
    The check runs on a thread so that a hanging server never holds the boot.
    """

    def check() -> None:
        try:
            error = database_reachable()
            if error is not None:
                logger.error(f"{database_unreachable_sentence(error)}; the web app starts and answers 503 meanwhile")
        finally:
            connection.close()

    threading.Thread(target=check, name="database-check-at-boot", daemon=True).start()
