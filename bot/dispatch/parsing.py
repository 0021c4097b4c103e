"""Turning a message's text into a command word and its arguments.

``.Kick @alice "bad words"`` with prefixes ``.!`` -> prefix ``.``, word ``kick``, args
``['@alice', 'bad words']``, arg_text ``@alice "bad words"``. Arguments are split shell-style so
quotes keep words together; unbalanced quotes fall back to splitting on whitespace (a chat
message is not a shell line, and the user should still get an answer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from blacksky_site.config_parsers import prefix_check

MAX_PREFIX_CHARS = 5
#: WhatsApp's own limit on a message's text: anything longer is not a message a person typed, and a
#: command never reads past it (the rest is cut before splitting).
MAX_TEXT_CHARS = 65536


@dataclass(frozen=True)
class ParsedCommand:
    prefix: str
    word: str  # lower-cased command name or alias as typed
    args: tuple[str, ...]
    arg_text: str


def split_args(text: str) -> tuple[str, ...]:
    """Shell-style split; quotes keep words together; unbalanced quotes split on whitespace.

    Linear in the length of the text (``shlex`` grows each word a character at a time, quadratic in
    a long word: a 1 MB word held a dispatcher thread for 16 s). Like POSIX shell words: quotes may
    join parts of a word (``a"b c"`` -> ``ab c``), a backslash outside quotes keeps the next
    character, inside double quotes it escapes only ``"`` and ``\\``.
    """
    if not text:
        return ()
    words: list[str] = []
    part: list[str] = []
    in_word = False
    quote = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and i + 1 < n and text[i + 1] in '"\\':
                i += 1
                part.append(text[i])
            else:
                part.append(ch)
        elif ch in "\"'":
            quote, in_word = ch, True
        elif ch == "\\":
            if i + 1 == n:
                return tuple(text.split())  # a trailing escape escapes nothing: as unbalanced quotes
            i += 1
            part.append(text[i])
            in_word = True
        elif ch.isspace():
            if in_word:
                words.append("".join(part))
                part, in_word = [], False
        else:
            part.append(ch)
            in_word = True
        i += 1
    if quote:
        return tuple(text.split())
    if in_word:
        words.append("".join(part))
    return tuple(words)


def parse_command(text: str, prefixes: str) -> ParsedCommand | None:
    """The command in ``text`` when it starts with one of the ``prefixes`` characters, else None."""
    if not text or not prefixes:
        return None
    stripped = text[: MAX_TEXT_CHARS * 2].lstrip()[:MAX_TEXT_CHARS]
    if not stripped or stripped[0] not in prefixes:
        return None
    body = stripped[1:]
    if not body or body[0].isspace():
        return None  # "." alone or ". hello" is punctuation, not a command
    parts = body.split(None, 1)
    word = parts[0].lower()
    arg_text = parts[1].strip() if len(parts) > 1 else ""
    return ParsedCommand(prefix=stripped[0], word=word, args=split_args(arg_text), arg_text=arg_text)


def validate_prefix(value: str) -> str:
    """A prefix setting (BOT_PREFIX or ``.setprefix``): 1-5 punctuation characters, no duplicates.
    Raises ValueError. One rule for both: :func:`blacksky_site.config_parsers.prefix_check`."""
    return prefix_check(value, most=MAX_PREFIX_CHARS)


# A bare domain starts where a run of name characters starts (the look-behind), never inside one: with
# \b it could start at every letter of "a-a-a-...", each start scanning to the run's end (64 KB: 26 s).
_LINK = re.compile(
    r"(?:https?://|www\.)\S+|chat\.whatsapp\.com/\S+|wa\.me/\S+"
    r"|(?<![a-z0-9-])[a-z0-9-]{2,}\.(?:com|net|org|io|me|xyz|info|link|ly|gg)\b",
    re.IGNORECASE,
)


def find_link(text: str) -> str:
    """The first link-looking thing in ``text`` ('' when none): used by antilink."""
    match = _LINK.search((text or "")[:MAX_TEXT_CHARS])
    return match.group(0) if match else ""


def iter_links(text: str) -> Iterator[str]:
    """Every link-looking thing in ``text``, in order (antilink checks each against its allow-list)."""
    for match in _LINK.finditer((text or "")[:MAX_TEXT_CHARS]):
        yield match.group(0)


_SWITCH_WORDS = {"on": True, "enable": True, "yes": True, "off": False, "disable": False, "no": False}


def parse_on_off(word: str) -> bool | None:
    """'on'/'enable'/'yes' -> True, 'off'/'disable'/'no' -> False, anything else -> None."""
    return _SWITCH_WORDS.get(word.strip().lower())
