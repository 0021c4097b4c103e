"""Installable command packs: found, checked, and kept apart from each other (the bot child's registry).

A pack is a Python package the operator installs (``pip install``): its command modules are named by
entry points of the group ``blacksky.commands`` or listed in ``BOT_PLUGINS``, and they declare
commands with the same ``@command(...)`` as the built-in modules, so the registry reads their
metadata from source and imports them on first use. A pack module states what it needs in a literal
``PACK_NEEDS = ("send", ...)``; the menu and ``.packs`` show it. This is a declaration the operator
reviews before installing, not a sandbox: a pack runs in the bot child like our own code. What the
bot does enforce: a pack that raises is counted (``pack_error:<pack>``) and turned off for this
process after ``PACK_MAX_FAILURES`` failures in a row, with one notice to the owners; each pack has
its own rate budget per chat (``PACK_RATE_PER_MINUTE``); group admins turn a pack off in their group
(``.pack off NAME``, stored in ``CommandPackChat``).
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from bot.dispatch.limits import KeyedBuckets

if TYPE_CHECKING:
    from bot.dispatch.context import CommandContext
    from bot.dispatch.declarations import CommandSpec, Handler
    from bot.transport.base import Reply

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "blacksky.commands"
NEEDS = frozenset({"send", "group_admin", "network", "storage"})
_CHAT_STATE_SECONDS = 10.0  # how long a group's on/off choices are trusted before they are read again


class PackRefused(Exception):
    """A pack that cannot be loaded as declared (unknown needs, a command beyond what it declared)."""


class PackFailed(Exception):
    """A pack's handler failed and the pack is now off: ``notices`` go to the owners beside the apology."""

    def __init__(self, pack: str, notices: list[Reply]) -> None:
        super().__init__(f"command pack {pack!r} turned off after repeated failures")
        self.notices = notices


@dataclass(frozen=True)
class PackInfo:
    """One installed pack: its name, its command modules, what it says it needs, where it came from."""

    name: str
    modules: tuple[str, ...]
    needs: frozenset[str]
    source: str  # "entry point <dist>" or "BOT_PLUGINS"
    version: str = ""


def pack_needs(module: str) -> frozenset[str]:
    """The literal ``PACK_NEEDS`` of a module's source (without importing it); unknown needs refuse it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise PackRefused(f"{module}: not an importable Python module")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    needs: frozenset[str] = frozenset()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PACK_NEEDS" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise PackRefused(f"{module}: PACK_NEEDS must be a literal tuple of names") from None
            if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
                raise PackRefused(f"{module}: PACK_NEEDS must be a literal tuple of names")
            needs = frozenset(value)
    unknown = sorted(needs - NEEDS)
    if unknown:
        raise PackRefused(f"{module}: unknown needs {unknown} (known: {sorted(NEEDS)})")
    return needs


def packs_discover(*, plugin_modules: Iterable[str] = (), disabled: Iterable[str] = ()) -> list[PackInfo]:
    """Every installed pack: entry points of ``blacksky.commands`` first, then ``BOT_PLUGINS``.

    A pack that cannot be read is left out with one warning line; the others still load.
    """
    off = set(disabled)
    found: dict[str, PackInfo] = {}
    named: list[tuple[str, str, str, str]] = []  # (pack, module, source, version)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else ""
        named.append((ep.name, ep.value.split(":", 1)[0].strip(), f"entry point of {dist}", version))
    named += [(module.rsplit(".", 1)[-1], module, "BOT_PLUGINS", "") for module in plugin_modules]
    for pack, module, source, version in named:
        if pack in off or module.startswith("bot."):
            continue
        try:
            needs = pack_needs(module)
        except (PackRefused, ImportError, OSError, SyntaxError) as exc:
            log.warning("command pack refused", extra={"pack": pack, "source": source, "error": str(exc)[:200]})
            continue
        old = found.get(pack)
        modules = (*old.modules, module) if old else (module,)
        found[pack] = PackInfo(pack, modules, needs | (old.needs if old else frozenset()), source, version)
    return list(found.values())


def spec_check(pack: PackInfo, spec: CommandSpec) -> None:
    """A command may not do more than its pack declared: acting as a group admin needs ``group_admin``."""
    if spec.bot_admin and "group_admin" not in pack.needs:
        raise PackRefused(f"{pack.name}: .{spec.name} acts as a group admin but the pack does not declare group_admin")


@dataclass
class _Health:
    failures_in_row: int = 0
    off: bool = False


@dataclass
class PackGuard:
    """Per pack: failures in a row, the rate budget per chat, and the groups that turned it off."""

    max_failures: int = 5
    per_minute: float = 20.0
    chat_state: Callable[[str, str], set[str]] = lambda session, chat: set()  # noqa: E731 - the packs off there
    clock: Callable[[], float] = time.monotonic
    _health: dict[str, _Health] = field(default_factory=dict)
    _cache: dict[tuple[str, str], tuple[float, set[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._buckets = KeyedBuckets(rate=self.per_minute / 60.0, capacity=max(1.0, self.per_minute / 4))

    def is_off(self, pack: str) -> bool:
        return self._health.get(pack, _Health()).off

    def off_in_chat(self, session: str, chat: str) -> set[str]:
        now = self.clock()
        cached = self._cache.get((session, chat))
        if cached is None or now - cached[0] > _CHAT_STATE_SECONDS:
            cached = (now, self.chat_state(session, chat))
            self._cache[(session, chat)] = cached
        return cached[1]

    def chat_changed(self, session: str, chat: str) -> None:
        self._cache.pop((session, chat), None)

    def wrap(self, pack: str, handler: Handler) -> Handler:
        """The handler as the router calls it: refused while off, budgeted, its failures counted."""

        def guarded(ctx: CommandContext) -> list[Reply] | Reply | None:
            if self.is_off(pack):
                return ctx.reply(_("The command pack %(pack)s is turned off after repeated errors.") % {"pack": pack})
            if pack in self.off_in_chat(ctx.session_name, ctx.chat):
                return None  # the group turned it off: as if it were not installed
            now = ctx.clock()  # the router's clock, so pacing and tests agree
            if not self._buckets.get((pack, ctx.chat), now).try_take(now):
                ctx.stats.count(f"pack_limited:{pack}")
                return None
            try:
                produced = handler(ctx)
            except Exception as exc:
                ctx.stats.count(f"pack_error:{pack}")
                if self._failed(pack):
                    raise PackFailed(pack, self._notices(ctx, pack, exc)) from exc
                raise
            self._health.setdefault(pack, _Health()).failures_in_row = 0
            return produced

        guarded.__module__ = getattr(handler, "__module__", "")
        return guarded

    def _failed(self, pack: str) -> bool:
        """One more failure in a row; True when this one turns the pack off."""
        with self._lock:
            health = self._health.setdefault(pack, _Health())
            health.failures_in_row += 1
            if health.off or health.failures_in_row < self.max_failures:
                return False
            health.off = True
        log.error("command pack turned off", extra={"pack": pack, "failures": health.failures_in_row})
        return True

    def _notices(self, ctx: CommandContext, pack: str, exc: BaseException) -> list[Reply]:
        from bot.transport.base import USER_SERVER, Reply

        text = _(
            "The command pack %(pack)s failed %(n)d times in a row (last: %(error)s) and is off until the bot "
            "restarts. Update or remove it."
        ) % {"pack": pack, "n": self.max_failures, "error": type(exc).__name__}
        return [Reply(kind="text", chat=f"{owner}@{USER_SERVER}", text=text) for owner in sorted(ctx.owners)]


def packs_off_in_chat(session: str, chat: str) -> set[str]:
    """The packs a group turned off, from the database (the guard caches it for a few seconds)."""
    from bot.models import CommandPackChat

    rows = CommandPackChat.objects.filter(session_name=session, chat=chat, enabled=False)
    return set(rows.values_list("pack", flat=True))


def pack_chat_set(*, session: str, chat: str, pack: str, enabled: bool) -> None:
    """A group admin turns a pack on or off in this group."""
    from bot.models import CommandPackChat

    CommandPackChat.objects.update_or_create(
        session_name=session, chat=chat, pack=pack[:64], defaults={"enabled": enabled}
    )


def pack_summary(pack: PackInfo, specs: Iterable[Any]) -> str:
    """One line of ``.packs``: name, version, what it needs, its commands."""
    names = ", ".join(sorted(s.name for s in specs if s.module in pack.modules)) or "-"
    needs = ", ".join(sorted(pack.needs)) or _("nothing")
    version = f" {pack.version}" if pack.version else ""
    return _("%(name)s%(version)s (needs: %(needs)s): %(commands)s") % {
        "name": pack.name,
        "version": version,
        "needs": needs,
        "commands": names,
    }


def packs_installed() -> tuple[list[PackInfo], PackGuard]:
    """The packs this process loads and their guard, from the settings (the registry asks at discovery)."""
    from django.conf import settings

    packs = packs_discover(plugin_modules=settings.BOT_PLUGINS, disabled=settings.BOT_PLUGINS_DISABLED)
    guard = PackGuard(
        max_failures=settings.PACK_MAX_FAILURES,
        per_minute=settings.PACK_RATE_PER_MINUTE,
        chat_state=packs_off_in_chat,
    )
    return packs, guard
