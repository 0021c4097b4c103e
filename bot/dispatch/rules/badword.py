"""Antibadword: a listed word as a whole word, whatever its case or accents (NFKD, marks dropped, casefolded).

Words are stored folded (``bot.moderation_settings.word_check``), so one pass over the folded text
and a few set lookups per word decide: linear in the message, whatever the list's length. A word
joined by hyphens or apostrophes is looked up whole, part by part, and with its joins dropped
('s-h-i-t'), so spelling it out does not get it through; 'class' never matches 'ass'.
"""

from __future__ import annotations

import re

from bot.moderation_settings import fold

# A word: letters and digits, joined by inner hyphens or apostrophes ("semi-final", "don't").
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_JOIN = re.compile(r"['-]")


def _forms(word: str) -> list[str]:
    if "-" not in word and "'" not in word:
        return [word]
    return [word, _JOIN.sub("", word), *_JOIN.split(word)]


def badword_hit(text: str, words: frozenset[str]) -> str:
    """The first listed word ``text`` contains as a whole word ('' when none)."""
    if not words or not text:
        return ""
    for match in _WORD.finditer(fold(text)):
        for form in _forms(match.group(0)):
            if form in words:
                return form
    return ""
