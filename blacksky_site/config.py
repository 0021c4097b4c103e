"""Typed, documented environment variables.

Every variable the project reads is declared once in ``VARIABLES`` with its default and its
meaning; ``settings.py`` reads them through :func:`get`, ``.env.example`` and the README table are
checked against the same list by the tests. A malformed value raises ``ImproperlyConfigured``
naming the variable and what was expected, so start-up fails with one readable sentence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from blacksky_site.config_parsers import (  # noqa: F401  re-exported: tests and settings import them from here
    parse_b64_key,
    parse_b64_keys,
    parse_bool,
    parse_database_url,
    parse_digits_list,
    parse_dir,
    parse_float,
    parse_heroku_app_name,
    parse_hhmm,
    parse_host_list,
    parse_int,
    parse_list,
    parse_log_level,
    parse_non_negative_float,
    parse_number_between,
    parse_origin_list,
    parse_outbox_age,
    parse_positive_int,
    parse_prefix,
    parse_project_dir,
    parse_proxy_url,
    parse_redis_url,
    parse_seconds,
    parse_str,
    parse_text,
    parse_token,
    parse_url,
    parse_whole_between,
)
from blacksky_site.variables import Variable  # noqa: F401  re-exported
from blacksky_site.variables.commands import COMMANDS
from blacksky_site.variables.platform import PLATFORM
from blacksky_site.variables.schedule import SCHEDULE

VARIABLES: tuple[Variable, ...] = PLATFORM + COMMANDS + SCHEDULE

_BY_NAME = {variable.name: variable for variable in VARIABLES}


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """Read one declared variable, parsed; the default applies when it is unset."""
    variable = _BY_NAME[name]
    source = os.environ if environ is None else environ
    raw = source.get(name)
    if raw is None:
        raw = variable.default
    try:
        if any(ord(ch) < 32 and ch != "\t" or ord(ch) == 127 for ch in raw.strip()):
            raise ValueError("text without control characters (a NUL, a newline: the value was pasted wrongly)")
        return variable.parse(raw)
    except ValueError as exc:
        shown = "(hidden)" if variable.secret else url_shown(raw) if name in URL_VARIABLES else _shown(raw)
        raise ImproperlyConfigured(f"{name} is set to {shown}, but it must be {exc}.") from None


# URL-valued settings: their password and token-like query values are secrets even though the
# variable as a whole is not (the host is useful in a log line, the password never is).
URL_VARIABLES: frozenset[str] = frozenset(
    {"DATABASE_URL", "REDIS_URL", "MEDIA_CDN_URL", "WA_PROXY", "CONNECTION_WEBHOOK_URL", "HEROKU_API_URL", "PUBLIC_URL"}
)


def url_credentials(raw: str) -> list[str]:
    """The password of a URL (as written and decoded) and its query values of 8+ characters."""
    try:
        parts = urlsplit(raw.strip())
        password = parts.password
    except ValueError:  # a malformed port or bracket: fall back to the text between ':' and '@'
        netloc = raw.split("://", 1)[-1].split("/", 1)[0]
        userinfo = netloc.rpartition("@")[0]
        password = userinfo.partition(":")[2] or None
        parts = None
    # Shorter values would mask common words all over the log; 4 characters is no password anyway.
    found = [value for value in (password, unquote(password or "")) if value and len(value) >= 4]
    if parts is not None:
        queries = [value for _, value in parse_qsl(parts.query)] + [p.split("=", 1)[-1] for p in parts.query.split("&")]
        found += [value for value in queries if len(value) >= 8]
    return list(dict.fromkeys(found))


def _shown(raw: str) -> str:
    """A value as an error quotes it: printable, and at most 60 characters of it."""
    text = raw if len(raw) <= 60 else raw[:57] + "..."
    return ascii(text) if not text.isprintable() else repr(text)


def url_shown(raw: str) -> str:
    """What an error may quote of a URL setting: its scheme and host, never user, password, path or query."""
    text = raw.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return "a value that is not a URL" if text else "an empty value"
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]" if "]" in host else "["
    else:
        host = host.split(":", 1)[0]
    if not scheme.isascii() or not scheme.replace("+", "").isalnum():
        scheme = "?"
    return repr(f"{scheme[:20]}://{host[:100]}") + (" (credentials and path not shown)" if rest != host else "")


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the secret variables that are set, for the log redaction filter."""
    source = os.environ if environ is None else environ
    values: list[str] = []
    for variable in VARIABLES:
        raw = source.get(variable.name, "") if variable.secret else ""
        # A list of secrets (old keys) is also redacted item by item.
        values.extend(part.strip() for part in [raw, *raw.split(",")] if len(part.strip()) >= 8)
        if variable.name in URL_VARIABLES:
            values.extend(url_credentials(source.get(variable.name, "")))
    return list(dict.fromkeys(values))
