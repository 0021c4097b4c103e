"""Reaction commands declared in the database for imported GIFs, as a command source of the registry.

Loaded in the bot child when the registry discovers ``bot.commands`` (its ``COMMAND_SOURCES``); the
caption code (``bot.commands._reacting``) loads on a command's first use, like any command module. ``sync`` reads the rows at most
every ``interval`` seconds (on a lookup miss or for the menu), so ``.boing`` answers a few seconds
after ``import_gifs`` declared it, without a restart, and a built-in command never waits for the
database. A row that clashes with a built-in word, or whose caption fails its check (edited by hand),
is skipped with one warning; a database that cannot be read keeps the commands already known.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from bot.dispatch.context import CommandContext
from bot.dispatch.registry import CommandSpec, Registry, RegistryError
from bot.transport.base import Reply

log = logging.getLogger(__name__)

CATEGORY = "reactions"
SYNC_INTERVAL = 10.0


def _handler(captions: tuple[str, str, str], asset: str) -> Callable[[CommandContext], Reply]:
    return functools.partial(_react, captions=captions, asset=asset)


def _react(ctx: CommandContext, *, captions: tuple[str, str, str], asset: str) -> Reply:
    from bot.commands._reacting import Reaction, react_with

    return react_with(ctx, Reaction(*captions), asset=asset)


class GifCommandSource:
    """The ``ReactionCommand`` rows as commands; remembers which names it registered."""

    def __init__(self, *, interval: float = SYNC_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._next = 0.0
        self._state: dict[str, tuple] = {}  # name -> the row's fields, to re-register only what changed
        self._warned: set[tuple] = set()

    def sync(self, registry: Registry) -> bool:
        """Bring the registry in line with the rows; True when a command came, went or changed."""
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.interval
        try:
            rows = self._rows()
        except Exception as exc:  # noqa: BLE001 - rows that cannot be read must never take the menu down
            self._warn(("db",), "declared GIF commands unreadable; keeping the known ones", error=str(exc))
            return False
        changed = False
        for name in [n for n in self._state if n not in rows]:
            registry.unregister(name)
            del self._state[name]
            changed = True
        for name, fields in rows.items():
            if self._state.get(name) == fields:
                continue
            if self._register(registry, fields):
                self._state[name] = fields
                changed = True
        return changed

    def _rows(self) -> dict[str, tuple]:
        from bot.models import ReactionCommand
        from bot.reaction_commands import Declaration, DeclarationError, declaration_check

        rows: dict[str, tuple] = {}
        for row in ReactionCommand.objects.select_related("asset").order_by("name"):
            try:
                checked = declaration_check(
                    Declaration(
                        row.name, tuple(row.aliases or ()), row.caption_target, row.caption_alone, row.emoji, row.help
                    )
                )
            except DeclarationError as exc:
                self._warn(("bad", row.name), "declared GIF command skipped", command=row.name, error=str(exc))
                continue
            rows[checked.name] = (checked, row.asset.name)
        return rows

    def _register(self, registry: Registry, fields: tuple) -> bool:
        declaration, asset = fields
        spec = CommandSpec(  # the words were checked by declaration_check
            name=declaration.name,
            category=CATEGORY,
            help=declaration.help,
            aliases=declaration.aliases,
            usage="[@user]",
            cooldown=3.0,
        )
        captions = (declaration.caption_target, declaration.caption_alone, declaration.emoji)
        try:
            builtin = registry.lookup(spec.name)
            if builtin is not None and builtin.module:  # a row never replaces a command of the code
                raise RegistryError(f"{spec.name!r} is the built-in command from {builtin.module}")
            registry.register(spec, _handler(captions, asset))
        except RegistryError as exc:
            self._warn(
                ("clash", declaration.name), "declared GIF command skipped", command=declaration.name, error=str(exc)
            )
            return False
        return True

    def _warn(self, key: tuple, message: str, **extra: str) -> None:
        if key not in self._warned:  # once per cause: a bad row must not fill the log every sync
            self._warned.add(key)
            log.warning(message, extra=extra)
