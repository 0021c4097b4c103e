"""The parsers of ``blacksky_site.config``: one per kind of value, each raising ``ValueError`` with what was expected.

Imported by the settings (every process). A parser never sees the variable's name: ``config.get``
adds it, so an error names the variable and never echoes a secret value.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("a boolean (true/false, 1/0, yes/no, on/off)")


def parse_int(raw: str) -> int:
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise ValueError("a whole number (ASCII digits)")
    return int(text)


def parse_positive_int(raw: str) -> int:
    value = parse_int(raw)
    if value <= 0:
        raise ValueError("a whole number greater than 0")
    return value


def parse_float(raw: str) -> float:
    """A finite number in ASCII (``inf``, ``nan`` and ``1e400`` are not settings anyone means)."""
    text = raw.strip()
    try:
        if not text.isascii() or len(text) > 32 or "_" in text:
            raise ValueError
        value = float(text)
    except ValueError:
        raise ValueError("a number") from None
    if not math.isfinite(value):
        raise ValueError("a finite number")
    return value


def parse_number_between(low: float, high: float, unit: str) -> Callable[[str], float]:
    """A number of ``unit`` within ``[low, high]``."""

    def parse(raw: str) -> float:
        try:
            value = parse_float(raw)
        except ValueError:
            value = math.nan
        if not low <= value <= high:
            raise ValueError(f"a number of {unit} from {low:g} to {high:g}")
        return value

    parse.bounds = (low, high)
    return parse


def parse_non_negative_float(raw: str) -> float:
    value = parse_float(raw)
    if value < 0:
        raise ValueError("a number, 0 or more")
    return value


def parse_whole_between(low: int, high: int, unit: str) -> Callable[[str], int]:
    """A whole number of ``unit`` within ``[low, high]``."""

    def parse(raw: str) -> int:
        text = raw.strip()
        # 18 digits at most: int() of thousands of digits raises its own, unreadable ValueError.
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or not low <= int(text) <= high:
            raise ValueError(f"a whole number of {unit} from {low} to {high}")
        return int(text)

    parse.bounds = (low, high)
    return parse


parse_outbox_age = parse_whole_between(10, 86400, "seconds")


def parse_seconds(low: float, high: float) -> Callable[[str], float]:
    """A number of seconds within ``[low, high]`` (a bound the database driver or a deadline needs)."""

    def parse(raw: str) -> float:
        value = parse_float(raw)
        if not low <= value <= high:
            raise ValueError(f"a number of seconds from {low:g} to {high:g}")
        return value

    parse.bounds = (low, high)
    return parse


TOKEN_MIN_LENGTH = 32


def parse_token(raw: str) -> str:
    """Empty (no token) or a bearer token of at least 32 printable characters: a short one is guessable."""
    value = raw.strip()
    if value and (len(value) < TOKEN_MIN_LENGTH or not value.isascii() or not value.isprintable() or " " in value):
        raise ValueError(
            f"empty or a token of at least {TOKEN_MIN_LENGTH} ASCII characters without spaces "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))' makes one)"
        )
    return value


def parse_str(raw: str) -> str:
    return raw.strip()


def parse_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_digits_list(raw: str) -> list[str]:
    """Phone numbers as digits only (E.164: 7 to 15 with the country code); '+', spaces, dashes and
    brackets are tolerated and stripped."""
    numbers = []
    for item in parse_list(raw):
        digits = "".join(ch for ch in item if ch not in "+ -()")
        if not (digits.isascii() and digits.isdigit()) or not 7 <= len(digits) <= 15 or len(numbers) >= 100:
            raise ValueError("comma-separated phone numbers in international format, 7 to 15 digits each")
        numbers.append(digits)
    return numbers


def url_parts_check(value: str, schemes: set[str], expected: str, *, host: bool = True) -> None:
    """Raise ``ValueError(expected)`` unless ``value`` has one of ``schemes``, a host (when ``host``)
    and, if any, a port from 1 to 65535 (``urlsplit`` itself accepts ``:notaport`` until asked)."""
    try:
        if not value.isascii() or any(ch.isspace() for ch in value):
            raise ValueError
        parts = urlsplit(value)
        port = parts.port  # raises for "notaport" and 99999
        if parts.scheme.lower() not in schemes or (host and not parts.hostname) or port == 0:
            raise ValueError
    except ValueError:
        raise ValueError(expected) from None


def parse_url(raw: str) -> str:
    value = raw.strip()
    if value:
        url_parts_check(value, {"http", "https"}, "an http:// or https:// URL with a host (and a port from 1 to 65535)")
    return value


def parse_proxy_url(raw: str) -> str:
    value = raw.strip()
    if value:
        url_parts_check(value, {"http", "https", "socks5"}, "an http://, https:// or socks5:// proxy URL with a host")
    return value


def parse_database_url(raw: str) -> str:
    value = raw.strip()
    expected = "a sqlite:///path or postgres://user@host:port/db URL"
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    url_parts_check(value, {"sqlite", "postgres", "postgresql", "pgsql"}, expected, host=scheme != "sqlite")
    if scheme != "sqlite" and not urlsplit(value).path.strip("/"):
        raise ValueError(f"{expected}, with a database name")
    import dj_database_url

    try:
        dj_database_url.parse(value)  # settings parse it again: whatever it refuses is refused here
    except Exception:  # several kinds, each meaning "malformed"
        raise ValueError(expected) from None
    return value


def parse_redis_url(raw: str) -> str:
    value = raw.strip()
    if value:
        url_parts_check(value, {"redis", "rediss"}, "a redis:// or rediss:// URL with a host")
        database = urlsplit(value).path.strip("/")
        if database and not (database.isdigit() and len(database) <= 5):
            raise ValueError("a redis:// or rediss:// URL whose path, if any, is a database number such as /0")
    return value


_HOST_ITEM = re.compile(r"\*|\.?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\]")


def parse_host_list(raw: str) -> list[str]:
    """ALLOWED_HOSTS: host names, ``.domain`` (it and its subdomains), IP literals or ``*``."""
    hosts = [item.lower() for item in parse_list(raw)]
    if any(len(host) > 253 or not host.isascii() or not _HOST_ITEM.fullmatch(host) for host in hosts):
        raise ValueError("comma-separated host names such as bot.example.com or .herokuapp.com")
    return hosts


def parse_origin_list(raw: str) -> list[str]:
    """CSRF_TRUSTED_ORIGINS: ``scheme://host[:port]``, a ``*.`` first label allowed (Django's form)."""
    expected = "comma-separated origins such as https://bot.example.com (a scheme and a host, no path)"
    origins = parse_list(raw)
    for origin in origins:
        url_parts_check(origin.replace("://*.", "://", 1), {"http", "https"}, expected)
        parts = urlsplit(origin)
        if parts.path not in {"", "/"} or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(expected)
    return origins


_HEROKU_APP = re.compile(r"[a-z][a-z0-9-]{0,28}[a-z0-9]")


def parse_heroku_app_name(raw: str) -> str:
    """Heroku's rule for app names (it goes into the Platform API's URLs)."""
    value = raw.strip()
    if value and not _HEROKU_APP.fullmatch(value):
        raise ValueError("a Heroku app name: 2 to 30 lowercase letters, digits and dashes, starting with a letter")
    return value


def parse_hhmm(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    try:
        hours, minutes = value.split(":")
        if not (value.isascii() and hours.isdigit() and minutes.isdigit()):
            raise ValueError
        if len(hours) != 2 or len(minutes) != 2 or not 0 <= int(hours) <= 23 or not 0 <= int(minutes) <= 59:
            raise ValueError
    except ValueError:
        raise ValueError("a time of day as HH:MM in UTC, e.g. 03:30") from None
    return value


def parse_b64_key(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    try:
        normalized = value.replace("-", "+").replace("_", "/")
        key = base64.b64decode(normalized + "=" * (-len(normalized) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("base64 of exactly 32 random bytes") from None
    if len(key) != 32:
        raise ValueError("base64 of exactly 32 random bytes")
    return value


def parse_b64_keys(raw: str) -> list[str]:
    """Comma-separated base64 keys (previous SESSION_ENCRYPTION_KEY values, for key rotation)."""
    return [parse_b64_key(item) for item in parse_list(raw)]


def parse_log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return value




def parse_text(low: int, high: int) -> Callable[[str], str]:
    """Printable text of ``low`` to ``high`` characters (a name shown in chats)."""

    def parse(raw: str) -> str:
        value = raw.strip()
        if not low <= len(value) <= high or not value.isprintable():
            raise ValueError(f"printable text of {low} to {high} characters")
        return value

    return parse


_PREFIX_FORBIDDEN = set("@\"'`")


def prefix_check(value: str, *, most: int = 5) -> str:
    """Command prefixes: 1 to ``most`` punctuation characters, duplicates dropped. Raises ValueError."""
    value = value.strip()
    if not value:
        raise ValueError("the prefix cannot be empty")
    if len(value) > most:
        raise ValueError(f"at most {most} prefix characters")
    if any(ch.isalnum() or ch.isspace() or ch == "_" or ch in _PREFIX_FORBIDDEN for ch in value) or not value.isprintable():
        raise ValueError("prefixes must be punctuation such as . ! / # (no letters, digits, spaces, @ or quotes)")
    return "".join(dict.fromkeys(value))


def parse_prefix(raw: str) -> str:
    try:
        return prefix_check(raw)
    except ValueError:
        raise ValueError("1 to 5 punctuation characters such as . or !/ (no letters, digits, spaces, @ or quotes)") from None


def parse_dir_under(root: Path | None, *, required: bool = False) -> Callable[[str], str]:
    """A directory path (created when missing); an existing file there, or above it, is refused.

    A relative path is checked where its setting resolves it: against ``root`` (the project, for
    WA_STORE_DIR and MEDIA_ROOT, which settings join to BASE_DIR), else the working directory.
    """

    def parse(raw: str) -> str:
        value = raw.strip()
        if not value:
            if required:
                raise ValueError("a directory path")
            return value
        try:
            if "\x00" in value or len(value) > 1024 or any(len(part) > 255 for part in Path(value).parts):
                raise OSError
            path = Path(value) if root is None else root / value
            # the first ancestor that exists must be a directory: mkdir below a file fails later
            blocked = next((p for p in (path, *path.parents) if p.exists() or p.is_symlink()), None)
            is_file = blocked is not None and not blocked.is_dir()
        except (OSError, ValueError):
            raise ValueError("a directory path (each name at most 255 characters)") from None
        if is_file:
            raise ValueError("a directory path, not a file (nor a path below one)")
        return value

    return parse


PROJECT_ROOT = Path(__file__).resolve().parent.parent
parse_dir = parse_dir_under(None)
parse_project_dir = parse_dir_under(PROJECT_ROOT, required=True)
