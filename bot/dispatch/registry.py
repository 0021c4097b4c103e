"""The command registry: metadata for every command, handlers imported on first use.

Command modules live in ``bot/commands/`` (one per category) and declare handlers with
``@command(...)``. To keep start-up light (modules load on first use), the registry learns the
*metadata* of every command by reading the modules' source with :mod:`ast` -- the literal
arguments of each ``@command(...)`` decorator -- without importing them. The menu and ``help``
come from that table; a module is imported only when one of its commands runs. A module whose
commands cannot be read statically (for example ``command(...)`` called in a loop) is imported at
discovery, so nothing is ever missing, just loaded earlier.

Commands declared in rows (a reaction an operator declared for an imported GIF) come from the
package's ``COMMAND_SOURCES``: each source's ``sync(registry)`` is asked on a lookup miss and for
the menu, and rate-limits its own reads, so built-in commands never wait for the database.

``Registry.unload_idle`` forgets modules not used lately (the memory monitor calls it at the soft
limit); their metadata stays, and the next use imports them again.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.dispatch.declarations import (  # noqa: F401  re-exported: the registry's public names
    WHERE_VALUES,
    WHO_VALUES,
    CommandSpec,
    Handler,
    RegistryError,
    Where,
    Who,
    _normalize,
    read_declarations,
)

if TYPE_CHECKING:
    from bot.dispatch.packs import PackGuard, PackInfo

log = logging.getLogger(__name__)

COMMANDS_PACKAGE = "bot.commands"


@dataclass
class _ModuleState:
    loaded: bool = False
    last_used: float = 0.0
    error: str = ""
    names: set[str] = field(default_factory=set)


class Registry:
    """Command metadata by name and alias; handlers by name, imported lazily per module."""

    def __init__(self, *, package: str | None = None) -> None:
        self.package = package  # None: only what is registered explicitly (tests)
        self._specs: dict[str, CommandSpec] = {}
        self._lookup: dict[str, str] = {}
        self._handlers: dict[str, Handler] = {}
        self._modules: dict[str, _ModuleState] = {}
        self._discovered = package is None
        self._lock = threading.RLock()
        self.sources: list[Any] = []  # objects with sync(registry) -> bool (changed)
        self.packs: list[PackInfo] = []  # installed command packs (bot.dispatch.packs)
        self.pack_guard: PackGuard | None = None
        self._module_pack: dict[str, str] = {}

    # -- declaring ------------------------------------------------------------------------------
    def command(
        self,
        name: str,
        *,
        aliases: Iterable[str] = (),
        category: str,
        help: str,  # noqa: A002
        usage: str = "",
        who: Who = "anyone",
        where: Where = "any",
        cooldown: float = 0.0,
        bot_admin: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Decorator: register ``handler`` under ``name`` (and ``aliases``) with its metadata."""

        def decorate(handler: Handler) -> Handler:
            spec = _normalize(
                name,
                aliases=aliases,
                category=category,
                help=help,
                usage=usage,
                who=who,
                where=where,
                cooldown=cooldown,
                bot_admin=bot_admin,
                module=getattr(handler, "__module__", "") or "",
            )
            self.register(spec, handler)
            return handler

        return decorate

    def register(self, spec: CommandSpec, handler: Handler | None) -> None:
        """Add or complete a command. A name or alias owned by another command is an error."""
        with self._lock:
            for word in spec.names():
                owner = self._lookup.get(word)
                if owner is not None and owner != spec.name:
                    raise RegistryError(f"{word!r} is already used by command {owner!r}")
                existing = self._specs.get(word)
                if existing is not None and word != spec.name:
                    raise RegistryError(f"alias {word!r} clashes with command {existing.name!r}")
            old = self._specs.get(spec.name)
            if old is not None and old.module and spec.module and old.module != spec.module:
                raise RegistryError(f"command {spec.name!r} is declared in {old.module} and {spec.module}")
            if old is not None:
                for word in old.names():
                    self._lookup.pop(word, None)
            self._specs[spec.name] = spec
            for word in spec.names():
                self._lookup[word] = spec.name
            if handler is not None:
                self._handlers[spec.name] = handler
            if spec.module:
                state = self._modules.setdefault(spec.module, _ModuleState())
                state.names.add(spec.name)
                if handler is not None:
                    state.loaded = True

    # -- discovery (no imports) -----------------------------------------------------------------
    def discover(self) -> None:
        """Read the metadata of every command module of the package (once)."""
        if self._discovered:
            return
        with self._lock:
            if self._discovered:
                return
            assert self.package is not None
            package = importlib.import_module(self.package)
            self.sources = [make() for make in getattr(package, "COMMAND_SOURCES", ())]
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
                if info.name.startswith("_") or info.ispkg:
                    continue
                module = f"{self.package}.{info.name}"
                self._discover_module(module)
            if self.package == COMMANDS_PACKAGE:
                from bot.dispatch.packs import packs_installed

                self.packs_add(*packs_installed())
            self._discovered = True  # last: other threads read it without the lock

    def _discover_module(self, module: str) -> None:
        spec = importlib.util.find_spec(module)
        origin = Path(spec.origin) if spec and spec.origin else None
        declared: list[CommandSpec] | None = None
        if origin is not None and origin.suffix == ".py":
            try:
                declared = read_declarations(origin.read_text(encoding="utf-8"), module=module)
            except (OSError, SyntaxError, ValueError) as exc:
                log.warning("command metadata unreadable", extra={"command_module": module, "error": str(exc)})
                declared = None
        if declared is None:
            self._import(module)  # dynamic declarations: load now so the menu is complete
            return
        self._modules.setdefault(module, _ModuleState())
        for command_spec in declared:
            if command_spec.name not in self._specs:
                self.register(command_spec, None)

    def packs_add(self, packs: list[PackInfo], guard: PackGuard) -> None:
        """Installed packs' commands beside the built-in ones, read from source like them.

        A pack whose declarations are not literal, that reuses a taken name, or that declares a command
        beyond its ``PACK_NEEDS`` is left out whole, with one warning line; the bot starts anyway.
        """
        from bot.dispatch.packs import PackRefused, spec_check

        self.pack_guard = guard
        for pack in packs:
            try:
                specs: list[CommandSpec] = []
                for module in pack.modules:
                    spec = importlib.util.find_spec(module)
                    origin = Path(spec.origin) if spec and spec.origin else None
                    declared = read_declarations(origin.read_text(encoding="utf-8"), module=module) if origin else None
                    if declared is None:
                        raise PackRefused(f"{module}: its @command(...) declarations must be literal")
                    specs += declared
                for command_spec in specs:
                    spec_check(pack, command_spec)
                    for word in command_spec.names():
                        if word in self._lookup:
                            raise PackRefused(
                                f".{word} is already a command of {self._specs[self._lookup[word]].module}"
                            )
            except (PackRefused, ImportError, OSError, SyntaxError, ValueError) as exc:
                log.warning("command pack refused", extra={"pack": pack.name, "error": str(exc)[:200]})
                continue
            for command_spec in specs:
                self.register(command_spec, None)
                self._module_pack[command_spec.module] = pack.name
            self.packs.append(pack)

    def packs_reset(self) -> None:
        """Forget every pack's commands (before loading them again with other settings)."""
        with self._lock:
            for name in [s.name for s in self._specs.values() if s.module in self._module_pack]:
                self.unregister(name)
            for module in self._module_pack:
                self._modules.pop(module, None)
                sys.modules.pop(module, None)
            self._module_pack.clear()
            self.packs = []

    # -- lookups --------------------------------------------------------------------------------
    def lookup(self, word: str) -> CommandSpec | None:
        """The command a (lower-case) name or alias stands for, or None."""
        if not self._discovered:
            self.discover()
        name = self._lookup.get(word)
        if name is None and self._sources_sync():
            name = self._lookup.get(word)
        return self._specs.get(name) if name is not None else None

    def specs(self) -> list[CommandSpec]:
        self.discover()
        self._sources_sync()
        return sorted(self._specs.values(), key=lambda s: (s.category, s.name))

    def categories(self) -> dict[str, list[CommandSpec]]:
        grouped: dict[str, list[CommandSpec]] = {}
        for spec in self.specs():
            grouped.setdefault(spec.category, []).append(spec)
        return grouped

    def handler(self, name: str, *, now: float | None = None) -> Handler:
        """The handler of command ``name``, importing its module on first use."""
        handler = self._handlers.get(name)
        spec = self._specs[name]
        state = self._modules.get(spec.module) if spec.module else None
        if handler is None:
            with self._lock:
                handler = self._handlers.get(name)
                if handler is None:
                    if not spec.module:
                        raise RegistryError(f"command {name!r} has no handler")
                    self._import(spec.module)
                    handler = self._handlers.get(name)
                    if handler is None:
                        raise RegistryError(f"module {spec.module} does not define command {name!r}")
                    state = self._modules.get(spec.module)
        if state is not None:
            state.last_used = time.monotonic() if now is None else now
        pack = self._module_pack.get(spec.module)
        if pack is not None and self.pack_guard is not None:
            return self.pack_guard.wrap(pack, handler)
        return handler

    def _import(self, module: str) -> None:
        state = self._modules.setdefault(module, _ModuleState())
        started = time.perf_counter()
        try:
            if module in sys.modules:
                importlib.reload(sys.modules[module])  # re-registers after an unload
            else:
                importlib.import_module(module)
        except Exception as exc:
            state.error = f"{type(exc).__name__}: {exc}"
            raise
        state.loaded = True
        state.error = ""
        log.debug(
            "command module loaded",
            extra={"command_module": module, "ms": round((time.perf_counter() - started) * 1000, 2)},
        )

    def unregister(self, name: str) -> None:
        """Forget a command declared without a module (a source's row was deleted)."""
        with self._lock:
            spec = self._specs.pop(name, None)
            for word in spec.names() if spec else ():
                self._lookup.pop(word, None)
            self._handlers.pop(name, None)

    def _sources_sync(self) -> bool:
        return any([source.sync(self) for source in self.sources])  # a list: every source syncs

    def loaded_modules(self) -> list[str]:
        return sorted(m for m, s in self._modules.items() if s.loaded)

    def unload_idle(self, *, idle_seconds: float, now: float | None = None) -> list[str]:
        """Forget handlers of modules unused for ``idle_seconds``; returns the modules dropped."""
        now = time.monotonic() if now is None else now
        dropped = []
        with self._lock:
            if self.package is None:
                return dropped
            for module, state in self._modules.items():
                if not state.loaded or now - state.last_used < idle_seconds:
                    continue
                for name in state.names:
                    self._handlers.pop(name, None)
                sys.modules.pop(module, None)
                parent = sys.modules.get(self.package)
                if parent is not None:
                    parent.__dict__.pop(module.rsplit(".", 1)[1], None)
                state.loaded = False
                dropped.append(module)
        return dropped


# The project's registry: commands in bot/commands/, discovered on first lookup.
registry = Registry(package=COMMANDS_PACKAGE)
command = registry.command


def spec_with(spec: CommandSpec, **changes: Any) -> CommandSpec:
    """A copy of ``spec`` with some fields changed (tests and overrides)."""
    return replace(spec, **changes)
