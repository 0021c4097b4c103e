"""Links the bot prints for operators (in the worker's log and terminal): the pairing page.

Imported by the supervisor and the child; built from ``settings.PUBLIC_URL`` (blacksky_site/public_url.py
derives it on Heroku), never from a request.
"""

from __future__ import annotations

from django.conf import settings

LOCAL_PREFIX = "http://127.0.0.1:"


def public_link(path: str) -> str:
    """An absolute link to ``path`` on the web app, the same origin the host check accepts."""
    if settings.CLOUD_MODE and settings.PUBLIC_URL.startswith(LOCAL_PREFIX):
        # On a dyno with nothing to derive the address from, a 127.0.0.1 link would send the
        # operator nowhere: say where to look instead.
        return f"{path} on your app's URL (see `heroku apps:info`; set PUBLIC_URL to print it here)"
    return f"{settings.PUBLIC_URL}/{path.lstrip('/')}"


def pairing_page_url() -> str:
    """Where an operator pairs from a browser."""
    return public_link("/pair/")
