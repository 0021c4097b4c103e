"""Per-session settings an owner changes from the chat, and the one reader of them: ``runtime_value``.

Imported by the bot child (router, chat state, commands) and the admin. Three layers, the first
that has a value wins: a ``RuntimeSetting`` row (only for variables declared with ``chat=True``),
the environment (through the settings, the other bots' names included), the declared default.
A row is checked with the variable's own parser and bounds (``blacksky_site.config.value_check``)
when it is written and again when it is read: a row a newer parser refuses is skipped with one
log line, never used. Rows are cached per session for ``CACHE_SECONDS`` (a change made in the
admin lands within that, no restart) and the cache is dropped at once by a write in this process.
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.utils.translation import gettext as _

from blacksky_site import config
from blacksky_site.variables import Variable
from bot.models.runtime import VALUE_MAX_CHARS, RuntimeSetting

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
DATABASE, ENVIRONMENT, DEFAULT = "database", "environment", "default"


class SettingRefused(Exception):
    """One sentence for the chat: an unknown, secret or fixed name, or a value the parser refuses."""


@dataclass(frozen=True)
class Effective:
    """A variable's value for a session and where it comes from."""

    name: str
    value: Any
    source: str  # DATABASE, ENVIRONMENT or DEFAULT
    set_as: str = ""  # the other bot's name the environment used, when it did

    def shown(self) -> str:
        """The value as the chat shows it (lists comma-separated, booleans as on/off)."""
        if isinstance(self.value, bool):
            return "on" if self.value else "off"
        if isinstance(self.value, list | tuple):
            return ",".join(str(item) for item in self.value)
        if isinstance(self.value, float) and self.value.is_integer():
            return str(int(self.value))
        return str(self.value)


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()
_logged: set[tuple[str, str, str]] = set()


def cache_clear(session: str | None = None) -> None:
    """Forget the cached rows (of one session, or all): the next read asks the database."""
    with _lock:
        if session is None:
            _cache.clear()
        else:
            _cache.pop(session, None)


def _log_once(session: str, name: str, message: str, **extra: Any) -> None:
    key = (session, name, message)
    if key not in _logged:
        _logged.add(key)
        log.warning(message, extra={"session": session, "variable": name, **extra})


def _overrides(session: str) -> dict[str, Any]:
    """The session's parsed rows, cached; a database error keeps the last values it had."""
    now = time.monotonic()
    cached = _cache.get(session)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        rows = list(RuntimeSetting.objects.filter(session_name=session).values_list("name", "value"))
    except DatabaseError as exc:
        _log_once(session, "", "runtime settings unreadable, keeping the last values", error=str(exc))
        values = cached[1] if cached is not None else {}
        with _lock:
            _cache[session] = (now, values)
        return values
    values: dict[str, Any] = {}
    for name, raw in rows:
        variable = _chat_variable(name)
        parsed, expected = config.value_check(variable, raw) if variable is not None else (None, "not settable")
        if expected:
            _log_once(session, name, "runtime setting ignored: its value is refused now", expected=expected)
            continue
        values[name] = parsed
    with _lock:
        _cache[session] = (now, values)
    return values


def _chat_variable(name: str) -> Variable | None:
    try:
        variable = config.variable_named(name)
    except KeyError:
        return None
    return variable if variable.chat else None


def _environment(name: str) -> Effective:
    from django.conf import settings

    raw, set_as = config.raw_value(name)
    value = getattr(settings, name) if hasattr(settings, name) else config.get(name)
    return Effective(name=name, value=value, source=DEFAULT if raw is None else ENVIRONMENT, set_as=set_as)


def runtime_effective(name: str, *, session: str) -> Effective:
    """A declared variable's value for ``session`` with its source."""
    overrides = _overrides(session) if _chat_variable(name) is not None else {}
    if name in overrides:
        return Effective(name=name, value=overrides[name], source=DATABASE)
    return _environment(name)


def runtime_value(name: str, *, session: str) -> Any:
    """A declared variable's value for ``session``: the chat's override, else the environment's, else the default."""
    overrides = _overrides(session) if _chat_variable(name) is not None else {}
    if name in overrides:
        return overrides[name]
    from django.conf import settings

    return getattr(settings, name) if hasattr(settings, name) else config.get(name)


def runtime_all(*, session: str) -> list[Effective]:
    """Every variable the chat may change, with its value and source, by name."""
    chat = sorted(v.name for v in config.VARIABLES if v.chat)
    return [runtime_effective(name, session=session) for name in chat]


def setting_readable(typed: str) -> Variable:
    """The variable ``typed`` names (its own name or another bot's) when a chat may read it: never a
    secret, nor a URL setting (its credentials); SettingRefused else."""
    name = typed.strip().upper()
    canonical = config.canonical_name(name)
    if canonical is None:
        names = [v.name for v in config.VARIABLES if not v.secret and v.name not in config.URL_VARIABLES]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        if close:
            raise SettingRefused(
                _("There is no setting called %(name)s. Did you mean %(close)s?")
                % {"name": name[:64], "close": close[0]}
            )
        raise SettingRefused(_("There is no setting called %(name)s.") % {"name": name[:64]})
    variable = config.variable_named(canonical)
    if variable.secret or canonical in config.URL_VARIABLES:
        raise SettingRefused(_("%(name)s is a secret: it is never shown or changed in a chat.") % {"name": canonical})
    return variable


def setting_resolve(typed: str) -> Variable:
    """The chat-settable variable ``typed`` names (its own name or another bot's); SettingRefused else."""
    variable = setting_readable(typed)
    canonical = variable.name
    if not variable.chat:
        raise SettingRefused(
            _("%(name)s can only be changed in the environment (it takes effect at the next start).")
            % {"name": canonical}
        )
    return variable


def runtime_set_check(typed: str, raw: str) -> Effective:
    """What ``runtime_set`` would store, checked (the name, the length, the parser); SettingRefused says why not."""
    variable = setting_resolve(typed)
    if len(raw) > VALUE_MAX_CHARS:
        raise SettingRefused(
            _("Not changed: a value can have at most %(most)d characters (this one has %(count)d).")
            % {"most": VALUE_MAX_CHARS, "count": len(raw)}
        )
    value, expected = config.value_check(variable, raw)
    if expected:
        raise SettingRefused(
            _("Not changed: %(name)s cannot be %(shown)s, it must be %(expected)s.")
            % {"name": variable.name, "shown": config.value_shown(variable, raw), "expected": expected}
        )
    return Effective(name=variable.name, value=value, source=DATABASE)


def runtime_set(*, session: str, typed: str, raw: str, set_by: str = "") -> Effective:
    """Check and store a session's value for a chat-settable variable; SettingRefused says why not."""
    checked = runtime_set_check(typed, raw)
    RuntimeSetting.objects.update_or_create(
        session_name=session, name=checked.name, defaults={"value": raw.strip(), "set_by": set_by[:32]}
    )
    cache_clear(session)
    return checked


def runtime_delete(*, session: str, typed: str) -> tuple[bool, Effective]:
    """Drop a session's value: (whether there was one, what applies now)."""
    variable = setting_resolve(typed)
    deleted, _rows = RuntimeSetting.objects.filter(session_name=session, name=variable.name).delete()
    cache_clear(session)
    return deleted > 0, runtime_effective(variable.name, session=session)
