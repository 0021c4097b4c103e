"""The ``Range`` header of ``/gifs/``, read the way RFC 9110 allows a server to: never an error.

One byte range is served as 206; anything else a client may send (several ranges, another unit,
garbage, numbers with thousands of digits) is ignored and the whole file goes out as 200, except
a well-formed range that starts past the end (or any range of an empty file): 416. Numbers are
ASCII digits only and are never converted past 19 digits (Python refuses 4,300 and more, and no
file is that big), so a hostile header costs a regular expression on at most 200 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_HEADER = 200  # a single byte range fits in far less; a longer header is ignored
MAX_DIGITS = 19  # 10**19 bytes is past any file: a longer number is "past the end"
_RANGE = re.compile(r"bytes[ \t]*=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class Span:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


UNSATISFIABLE = "unsatisfiable"


def _number(digits: str) -> int | None:
    """The value, or None for a number longer than any file could be."""
    digits = digits.lstrip("0") or "0"
    return None if len(digits) > MAX_DIGITS else int(digits)


def range_parse(header: str, size: int) -> Span | str | None:
    """``Span`` to serve, ``UNSATISFIABLE`` for 416, or None to ignore the header (serve it all)."""
    if not header or len(header) > MAX_HEADER:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # "-N": the last N bytes
        wanted = _number(last)
        if wanted == 0:
            return UNSATISFIABLE
        if size == 0:
            return UNSATISFIABLE
        return Span(0 if wanted is None else max(0, size - wanted), size - 1)
    start = _number(first)
    end = _number(last) if last else None
    if last and start is not None and end is not None and end < start:
        return None  # "5-2" is not a range at all: ignored
    if last and start is None and end is not None:
        return None  # start past any end given: malformed
    if start is None or start >= size:
        return UNSATISFIABLE
    return Span(start, size - 1 if end is None else min(end, size - 1))
