"""Reading ``@command(...)`` metadata from a module's source without importing it (the registry's discovery).

Imported by :mod:`bot.dispatch.registry` in every process that builds the menu (the bot child, tests).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.dispatch.context import CommandContext
    from bot.transport.base import Reply

Who = Literal["anyone", "group_admin", "sudo", "owner"]
Where = Literal["any", "group", "private"]
Handler = Callable[["CommandContext"], "list[Reply] | Reply | None"]

WHO_VALUES = ("anyone", "group_admin", "sudo", "owner")  # bot.dispatch.access says who is which
WHERE_VALUES = ("any", "group", "private")


class RegistryError(Exception):
    """A command declared twice, a bad name, or a bad permission value."""


@dataclass(frozen=True)
class CommandSpec:
    """What the router and the menu know about a command, without its handler."""

    name: str
    category: str
    help: str
    aliases: tuple[str, ...] = ()
    usage: str = ""
    who: Who = "anyone"
    where: Where = "any"
    cooldown: float = 0.0
    bot_admin: bool = False  # the bot itself must be a group admin (acting group commands)
    module: str = ""

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _normalize(
    name: str,
    *,
    aliases: Iterable[str],
    category: str,
    help: str,  # noqa: A002 - the decorator's public keyword
    usage: str,
    who: str,
    where: str,
    cooldown: float,
    bot_admin: bool,
    module: str,
) -> CommandSpec:
    name = name.strip().lower()
    alias_tuple = tuple(a.strip().lower() for a in aliases)
    for word in (name, *alias_tuple):
        if not word or any(ch.isspace() for ch in word):
            raise RegistryError(f"command name {word!r} must be one word")
    if who not in WHO_VALUES:
        raise RegistryError(f"{name}: who={who!r} must be one of {WHO_VALUES}")
    if where not in WHERE_VALUES:
        raise RegistryError(f"{name}: where={where!r} must be one of {WHERE_VALUES}")
    if cooldown < 0:
        raise RegistryError(f"{name}: cooldown must be >= 0")
    if not category:
        raise RegistryError(f"{name}: a category is required")
    return CommandSpec(
        name=name,
        category=category.strip().lower(),
        help=help.strip(),
        aliases=alias_tuple,
        usage=usage,
        who=who,  # type: ignore[arg-type]
        where=where,  # type: ignore[arg-type]
        cooldown=float(cooldown),
        bot_admin=bool(bot_admin),
        module=module,
    )


_DECORATOR_NAMES = {"command"}


def _is_command_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id in _DECORATOR_NAMES) or (
        isinstance(func, ast.Attribute) and func.attr in _DECORATOR_NAMES
    )


def read_declarations(source: str, *, module: str) -> list[CommandSpec] | None:
    """The ``@command(...)`` metadata of a module's source, or None if some is not literal.

    Only decorators on top-level functions with literal arguments count; any other call of
    ``command(...)`` in the module makes it dynamic (None), and the registry imports it instead.
    """
    tree = ast.parse(source)
    decorators: set[int] = set()
    specs: list[CommandSpec] = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not _is_command_call(decorator):
                continue
            decorators.add(id(decorator))
            assert isinstance(decorator, ast.Call)
            specs.append(_spec_from_call(decorator, module=module))
    for node in ast.walk(tree):
        if _is_command_call(node) and id(node) not in decorators:
            return None
    return specs


def _spec_from_call(call: ast.Call, *, module: str) -> CommandSpec:
    if len(call.args) != 1:
        raise ValueError(f"line {call.lineno}: @command takes the name as its only positional argument")
    name = ast.literal_eval(call.args[0])
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ValueError(f"line {call.lineno}: **kwargs in @command cannot be read statically")
        kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    kwargs.setdefault("aliases", ())
    kwargs.setdefault("usage", "")
    kwargs.setdefault("who", "anyone")
    kwargs.setdefault("where", "any")
    kwargs.setdefault("cooldown", 0.0)
    kwargs.setdefault("bot_admin", False)
    if "category" not in kwargs or "help" not in kwargs:
        raise ValueError(f"line {call.lineno}: @command({name!r}) needs category= and help=")
    try:
        return _normalize(name, module=module, **kwargs)
    except (RegistryError, TypeError) as exc:
        raise ValueError(f"line {call.lineno}: {exc}") from None
