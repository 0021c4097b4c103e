"""Declarations of the environment variables, one module per concern, joined by ``blacksky_site.config``.

``Variable`` lives here so that each declaration module imports it without importing ``config``.
``chat=True`` lets an owner override the variable per session from WhatsApp (``.setvar``, read
through ``bot.runtime_settings``); ``aliases`` are the names other bots use for the same setting,
read when the canonical name is unset (the table in docs/aliases.md lists them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Alias:
    """Another bot's name for a variable, and how its value becomes ours (``None``: as it is)."""

    name: str
    convert: Callable[[str], str] | None = None
    note: str = ""  # how the value is read, for the aliases table

    def value(self, raw: str) -> str:
        return raw if self.convert is None else self.convert(raw)


@dataclass(frozen=True)
class Variable:
    name: str
    parse: Callable[[str], Any]
    default: str
    help: str
    secret: bool = False
    used_by: str = ""
    chat: bool = False  # an owner may set it per session from the chat (never for a secret)
    aliases: tuple[Alias, ...] = ()

    def __post_init__(self) -> None:
        if self.chat and self.secret:
            raise ValueError(f"{self.name}: a secret can never be set from the chat")


def alias_part(index: int) -> Callable[[str], str]:
    """One comma-separated part of a value (``STICKER_PACKNAME="pack,author"``: 0 is the pack, 1 the author)."""

    def convert(raw: str) -> str:
        parts = raw.split(",", 1)
        return parts[index].strip() if index < len(parts) else ""

    return convert


def alias_handlers(raw: str) -> str:
    """X-Asena's and Levanter's HANDLERS/PREFIX: ``^[.,!]`` or ``[.!]`` as a character class: the characters."""
    value = raw.strip()
    if value.startswith("^"):
        value = value[1:]
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return "".join(ch for ch in dict.fromkeys(value) if ch not in ",")


def alias_switch(on: str, off: str) -> Callable[[str], str]:
    """A true/false of another bot read as one of our two words (``ALWAYS_ONLINE=true`` -> ``online``)."""

    def convert(raw: str) -> str:
        value = raw.strip().lower()
        if value in {"1", "true", "yes", "on", "y", "t"}:
            return on
        if value in {"0", "false", "no", "off", "n", "f", ""}:
            return off
        return raw  # the canonical parser refuses it in its own words

    return convert
