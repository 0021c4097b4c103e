"""Typed, documented environment variables.

Every variable the project reads is declared once in ``VARIABLES`` with its default and its
meaning (and the names other bots use for it, read when it is unset); ``settings.py`` reads them through :func:`get`, ``.env.example`` and the README table are
checked against the same list by the tests. A malformed value raises ``ImproperlyConfigured``
naming the variable and what was expected, so start-up fails with one readable sentence.
"""

from __future__ import annotations

import logging
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
from blacksky_site.variables.arrivals import ARRIVAL_VARIABLES
from blacksky_site.variables.commands import COMMANDS
from blacksky_site.variables.history import HISTORY
from blacksky_site.variables.languages import LANGUAGE_VARIABLES
from blacksky_site.variables.moderation import MODERATION
from blacksky_site.variables.packs import PACKS
from blacksky_site.variables.platform import PLATFORM
from blacksky_site.variables.presence import PRESENCE_VARIABLES
from blacksky_site.variables.schedule import SCHEDULE
from blacksky_site.variables.standby import STANDBY
from blacksky_site.variables.stickers import STICKERS

VARIABLES: tuple[Variable, ...] = (
    PLATFORM
    + COMMANDS
    + SCHEDULE
    + LANGUAGE_VARIABLES
    + ARRIVAL_VARIABLES
    + HISTORY
    + PACKS
    + MODERATION
    + STICKERS
    + STANDBY
    + PRESENCE_VARIABLES
)

_BY_NAME = {variable.name: variable for variable in VARIABLES}
_ALIAS_OF = {alias.name: variable.name for variable in VARIABLES for alias in variable.aliases}
_warned_both: set[str] = set()


def variable_named(name: str) -> Variable:
    """The declaration of ``name`` (KeyError when undeclared)."""
    return _BY_NAME[name]


def canonical_name(name: str) -> str | None:
    """``name`` itself when declared, the variable it is an alias of, else None (``HANDLERS`` -> ``BOT_PREFIX``)."""
    return name if name in _BY_NAME else _ALIAS_OF.get(name)


def raw_value(name: str, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The text set for a variable and the name it was set under: its own, else the first alias set.

    The canonical name wins when both are set, with one warning per process (the other bot's name
    is probably left over from a migration and would be confusing later).
    """
    variable = _BY_NAME[name]
    source = os.environ if environ is None else environ
    raw = source.get(name)
    aliases = [alias for alias in variable.aliases if source.get(alias.name) is not None]
    if raw is not None:
        if aliases and name not in _warned_both:
            _warned_both.add(name)
            logging.getLogger("blacksky_site.config").warning(
                f"{name} and {aliases[0].name} are both set: {name} is used and {aliases[0].name} ignored."
            )
        return raw, name
    if aliases:
        return aliases[0].value(source[aliases[0].name]), aliases[0].name
    return None, ""


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """Read one declared variable, parsed; the default applies when it (and every alias) is unset."""
    variable = _BY_NAME[name]
    raw, set_as = raw_value(name, environ)
    return value_parse(variable, variable.default if raw is None else raw, set_as=set_as or name)


def value_check(variable: Variable, raw: str) -> tuple[Any, str]:
    """``(value, "")`` when ``raw`` is acceptable, else ``(None, what it must be)``: one rule for the
    environment and for the chat (``.setvar``)."""
    try:
        if any(ord(ch) < 32 and ch != "\t" or ord(ch) == 127 for ch in raw.strip()):
            raise ValueError("text without control characters (a NUL, a newline: the value was pasted wrongly)")
        return variable.parse(raw), ""
    except ValueError as exc:
        return None, str(exc)


def value_shown(variable: Variable, raw: str) -> str:
    """What an error may quote of a value: nothing of a secret, the host of a URL, 60 characters else."""
    if variable.secret:
        return "(hidden)"
    return url_shown(raw) if variable.name in URL_VARIABLES else _shown(raw)


def value_parse(variable: Variable, raw: str, *, set_as: str = "") -> Any:
    """``raw`` through the variable's parser; a refusal is ImproperlyConfigured with one sentence."""
    value, expected = value_check(variable, raw)
    if expected:
        name = variable.name
        label = name if set_as in {"", name} else f"{set_as} (read as {name})"
        raise ImproperlyConfigured(f"{label} is set to {value_shown(variable, raw)}, but it must be {expected}.")
    return value


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
        names = [variable.name, *(alias.name for alias in variable.aliases)] if variable.secret else []
        raw = next((source[n] for n in names if source.get(n)), "")
        # A list of secrets (old keys) is also redacted item by item.
        values.extend(part.strip() for part in [raw, *raw.split(",")] if len(part.strip()) >= 8)
        if variable.name in URL_VARIABLES:
            values.extend(url_credentials(source.get(variable.name, "")))
    return list(dict.fromkeys(values))
