"""Where the web app is reachable from outside: ``PUBLIC_URL``, else derived from Heroku's dyno metadata.

Imported by settings (every process): the host check (``ALLOWED_HOSTS``), the CSRF origins and every
absolute link the bot prints (``bot/links.py``) come from the one URL this module returns, so a
Heroku app with a random suffix (``my-bot-1a2b3c4d5e6f.herokuapp.com``) works without anyone typing it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from blacksky_site.config_parsers import url_parts_check

_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def parse_origin_url(raw: str) -> str:
    """``https://bot.example.com`` (a trailing slash is dropped); the app lives at the root, so no path."""
    value = raw.strip().rstrip("/")
    if not value:
        return ""
    expected = "an http:// or https:// URL with no path, e.g. https://bot.example.com"
    url_parts_check(value, {"http", "https"}, expected)  # a host, and a port (if any) from 1 to 65535
    parts = urlsplit(value)
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(expected)
    return value


def parse_host_name(raw: str) -> str:
    """A bare host name such as ``my-bot-1a2b3c4d5e6f.herokuapp.com`` (what Heroku's dyno metadata holds)."""
    value = raw.strip().rstrip(".")
    if value and not (value.isascii() and _HOST.match(value.lower())):  # the Kelvin sign lowers to k
        raise ValueError("a host name such as my-app-1a2b3c4d5e6f.herokuapp.com (no scheme, no path)")
    return value.lower()


def public_url_derive(*, public_url: str, default_domain: str, app_name: str, port: str) -> str:
    """The first that is set wins: PUBLIC_URL, Heroku's default domain, the old-style app domain, localhost.

    ``HEROKU_APP_DEFAULT_DOMAIN_NAME`` (``heroku labs:enable runtime-dyno-metadata``) is the real
    domain, suffix included; ``<HEROKU_APP_NAME>.herokuapp.com`` is only right for apps created
    before Heroku added the suffix, so it comes after it.
    """
    if public_url:
        return public_url
    if default_domain:
        return f"https://{default_domain}"
    if app_name:
        return f"https://{app_name}.herokuapp.com"
    return f"http://127.0.0.1:{port or '8000'}"


def public_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The derived public URL from the declared variables (``PORT`` is the host's, as gunicorn reads it)."""
    from blacksky_site import config

    source = os.environ if environ is None else environ
    return public_url_derive(
        public_url=config.get("PUBLIC_URL", source),
        default_domain=config.get("HEROKU_APP_DEFAULT_DOMAIN_NAME", source),
        app_name=config.get("HEROKU_APP_NAME", source),
        port=source.get("PORT", "").strip(),
    )


def public_host(url: str) -> str:
    """The host name the host check must accept for ``url``."""
    return urlsplit(url).hostname or ""


def public_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, the form CSRF_TRUSTED_ORIGINS takes."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
