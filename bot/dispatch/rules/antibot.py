"""Antibot: a member whose messages carry another bot library's fingerprint in the message id.

The ids a client generates give its library away. Flagged:

- ``BAE5`` + 12 hex digits (16 characters): Baileys' ``generateMessageID`` before version 6;
- ``3EB0`` + 8 hex digits (12 characters): the short ids of bot forks built on it (what many
  multi-device bots test as "isBaileys").

Not flagged, on purpose: ``3EB0`` + 18 hex digits (22 characters) is WhatsApp Web's own shape, which
whatsmeow (and so neonize) and newer Baileys copy; flagging it would remove people using WhatsApp
Web. Phones send 32 hex digits (Android) or ``3A`` + 18 (iOS).
"""

from __future__ import annotations

import string

_HEX = frozenset(string.hexdigits.upper())

# (prefix, total length, name): a message id of exactly this shape is that library's.
FINGERPRINTS: tuple[tuple[str, int, str], ...] = (
    ("BAE5", 16, "Baileys (BAE5, 16 characters)"),
    ("3EB0", 12, "Baileys fork (3EB0, 12 characters)"),
)


def bot_fingerprint(message_id: str) -> str:
    """The library a message id gives away ('' for a person's client or an unknown one)."""
    if not message_id or len(message_id) > 64:
        return ""
    for prefix, length, name in FINGERPRINTS:
        if len(message_id) == length and message_id.startswith(prefix) and set(message_id) <= _HEX:
            return name
    return ""
