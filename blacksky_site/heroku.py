"""A small client of the Heroku Platform API (v3): config vars and dyno restarts.

Used to keep the WhatsApp credentials in the app's config vars (a Heroku app without a database
add-on keeps its session that way) and to restart dynos on a plan. The token and the values sent
never reach a log line or an exception message. ``HEROKU_API_URL`` points the client at a stand-in
server in tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

ACCEPT = "application/vnd.heroku+json; version=3"
TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 4
MAX_RETRY_WAIT = 30.0


class HerokuError(Exception):
    """A Platform API call failed; the message says why (never the token or the values)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def heroku_configured() -> bool:
    return bool(settings.HEROKU_API_KEY and settings.HEROKU_APP_NAME)


def _retry_wait(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("Retry-After", "")
    try:
        return min(max(float(header), 0.0), MAX_RETRY_WAIT)
    except ValueError:
        return min(2.0**attempt, MAX_RETRY_WAIT)


def _request(
    method: str,
    path: str,
    *,
    json: object | None = None,
    timeout: float = TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    if not heroku_configured():
        raise HerokuError("HEROKU_API_KEY and HEROKU_APP_NAME must both be set to use the Heroku Platform API.")
    url = settings.HEROKU_API_URL.rstrip("/") + path
    headers = {
        "Accept": ACCEPT,
        "Authorization": f"Bearer {settings.HEROKU_API_KEY}",
        "Content-Type": "application/json",
        "User-Agent": "blacksky-md",
    }
    import httpx  # here, not at the top: every process imports this module at start, few call the API

    with httpx.Client(timeout=timeout) as client:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = client.request(method, url, headers=headers, json=json)
            except httpx.TimeoutException:
                raise HerokuError(f"The Heroku API did not answer within {timeout:g} s ({method} {path}).") from None
            except httpx.HTTPError as exc:
                raise HerokuError(f"Cannot reach the Heroku API: {type(exc).__name__}.") from None
            if response.status_code == 429 and attempt < MAX_ATTEMPTS:
                wait = _retry_wait(response, attempt)
                logger.warning(
                    "heroku rate limited, retrying", extra={"path": path, "attempt": attempt, "wait_seconds": wait}
                )
                sleep(wait)
                continue
            break
    if response.status_code in (401, 403):
        raise HerokuError(
            f"The Heroku API refused the token ({response.status_code}): check HEROKU_API_KEY and its access to "
            f"the app {settings.HEROKU_APP_NAME}.",
            status=response.status_code,
        )
    if response.status_code == 404:
        raise HerokuError(f"The Heroku app {settings.HEROKU_APP_NAME!r} was not found (404).", status=404)
    if response.status_code == 429:
        raise HerokuError(f"The Heroku API kept rate limiting after {MAX_ATTEMPTS} attempts (429).", status=429)
    if response.status_code >= 400:
        raise HerokuError(
            f"The Heroku API answered {response.status_code} to {method} {path}.", status=response.status_code
        )
    return response


def heroku_config_vars_set(
    *, values: Mapping[str, str | None], timeout: float = TIMEOUT_SECONDS, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Set (or with ``None`` remove) config vars of ``HEROKU_APP_NAME``. Heroku restarts the dynos."""
    app = quote(settings.HEROKU_APP_NAME, safe="")
    _request("PATCH", f"/apps/{app}/config-vars", json=dict(values), timeout=timeout, sleep=sleep)
    logger.info("heroku config vars set", extra={"app": settings.HEROKU_APP_NAME, "names": ",".join(sorted(values))})


def heroku_dyno_restart(
    *, dyno: str | None = None, timeout: float = TIMEOUT_SECONDS, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Restart one dyno (e.g. ``worker.1``) or, without ``dyno``, all of the app's dynos."""
    app = quote(settings.HEROKU_APP_NAME, safe="")
    path = f"/apps/{app}/dynos" + (f"/{quote(dyno, safe='')}" if dyno else "")
    _request("DELETE", path, timeout=timeout, sleep=sleep)
    logger.info("heroku dyno restart requested", extra={"app": settings.HEROKU_APP_NAME, "dyno": dyno or "all"})
