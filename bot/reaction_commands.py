"""Reaction commands declared for imported GIFs: the checks and the writes (``import_gifs``, the admin).

Loaded by ``import_gifs`` and the web's admin to write; the bot child reads the rows
(``bot.dispatch.gif_commands``) through the same checks. Every check runs before anything is converted or stored:
a caption template with a field other than ``{actor}``/``{target}``, a word that is not a command
name, or a name or alias another command already answers to is refused with one sentence.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from bot.models import ReactionCommand
from media_cdn.models import NAME_PATTERN

WORD = re.compile(NAME_PATTERN)  # a command word is spelled like a GIF asset name
MAX_ALIASES = 5


class DeclarationError(ValueError):
    """A declaration that cannot be stored: the message says what to change."""


@dataclass(frozen=True)
class Declaration:
    """What an operator declares for one GIF: ``.NAME`` (and aliases) sends it with these captions."""

    name: str
    aliases: tuple[str, ...] = ()
    caption_target: str = ""
    caption_alone: str = ""
    emoji: str = ""
    help: str = ""  # noqa: A003

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def template_check(template: str, *, allowed: tuple[str, ...], label: str) -> None:
    """Refuse a caption with any field but ``allowed``, a format spec, or attribute access."""
    if len(template) > 200:
        raise DeclarationError(f"{label} is {len(template)} characters; at most 200")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise DeclarationError(f"{label} {template!r} is not a valid template ({exc}); use {{actor}}") from None
    for _, field_name, spec, conversion in parts:
        if field_name is None:
            continue
        if field_name not in allowed or spec or conversion:
            names = " and ".join(f"{{{a}}}" for a in allowed)
            raise DeclarationError(f"{label} {template!r} may only use {names}, found {{{field_name}}}")
    if "{actor}" not in template:
        raise DeclarationError(f"{label} {template!r} must name the sender with {{actor}}")


def declaration_check(declaration: Declaration) -> Declaration:
    """The normalised declaration (lower-case words, captions filled), or DeclarationError."""
    name = declaration.name.strip().lower()
    aliases = tuple(dict.fromkeys(a.strip().lower() for a in declaration.aliases if a.strip()))
    for word in (name, *aliases):
        if not WORD.match(word):
            raise DeclarationError(
                f"{word!r} is not a command word: lowercase letters, digits, '-' and '_' (at most 40)"
            )
    if name in aliases:
        aliases = tuple(a for a in aliases if a != name)
    if len(aliases) > MAX_ALIASES:
        raise DeclarationError(f".{name} has {len(aliases)} aliases; at most {MAX_ALIASES}")
    if len(declaration.emoji) > 16 or len(declaration.help) > 120:
        raise DeclarationError(f".{name}: the emoji is at most 16 characters and the help at most 120")
    filled = Declaration(
        name=name,
        aliases=aliases,
        caption_target=declaration.caption_target or "{actor} sends {target} a " + name,
        caption_alone=declaration.caption_alone or "{actor} sends a " + name,
        emoji=declaration.emoji.strip(),
        help=declaration.help.strip() or f"Send the {name} GIF (to someone).",
    )
    template_check(filled.caption_target, allowed=("actor", "target"), label=f".{name}'s caption")
    template_check(filled.caption_alone, allowed=("actor",), label=f".{name}'s caption without a target")
    return filled


def words_taken(*, except_names: Iterable[str] = ()) -> dict[str, str]:
    """Every word a command answers to -> the command: the built-in ones and the declared ones."""
    from bot.dispatch.registry import COMMANDS_PACKAGE, Registry

    skip = set(except_names)
    taken: dict[str, str] = {}
    builtin = Registry(package=COMMANDS_PACKAGE)
    builtin.discover()
    builtin.sources = []  # the built-in modules only; the declared rows are read below
    for spec in builtin.specs():
        for word in spec.names():
            taken[word] = f"the built-in command .{spec.name}"
    for row in ReactionCommand.objects.exclude(name__in=skip).values("name", "aliases"):
        for word in (row["name"], *(row["aliases"] or [])):
            taken.setdefault(word, f"the GIF command .{row['name']}")
    return taken


def declarations_clashes(
    declarations: Iterable[Declaration], *, replace: bool = False, except_names: Iterable[str] = ()
) -> list[str]:
    """Why each declaration cannot be stored ("" when it can), for a whole batch, before any conversion.

    With ``replace`` a declaration may take over a GIF command of its own name (not a built-in);
    ``except_names`` are rows being edited (their old words are free). Within the batch the first
    declaration of a word wins.
    """
    batch = list(declarations)
    skip = [*except_names, *([d.name for d in batch] if replace else [])]
    taken = words_taken(except_names=skip)
    problems: list[str] = []
    for declaration in batch:
        owner = next(((w, taken[w]) for w in declaration.names() if w in taken), None)
        problems.append(f".{owner[0]} is already {owner[1]}" if owner else "")
        if owner is None:
            for word in declaration.names():
                taken[word] = f"the GIF command .{declaration.name} (earlier in this import)"
    return problems


def reaction_command_save(*, declaration: Declaration, asset: object) -> ReactionCommand:
    """Store (or update) the command of ``asset``; the caller checked clashes for the batch."""
    with transaction.atomic():
        row, _ = ReactionCommand.objects.update_or_create(
            name=declaration.name,
            defaults={
                "aliases": list(declaration.aliases),
                "asset": asset,
                "caption_target": declaration.caption_target,
                "caption_alone": declaration.caption_alone,
                "emoji": declaration.emoji,
                "help": declaration.help,
            },
        )
    return row
