"""The one sentence ``runbot`` says at start when ``SESSION_ID`` holds another bot's session string.

Imported by ``manage.py runbot`` (the worker, before its supervisor starts). Levanter, X-Asena and
their family keep a Baileys (WhatsApp Web, multi-device JS) session in SESSION_ID: base64 of a
``creds.json``, often behind a ``name~`` prefix, or a paste-site id. whatsmeow keeps its own device
keys in its own store, and a Baileys session cannot be turned into one (the Signal sessions and
app-state keys it needs are not in that string), so the bot pairs anew and says why, never
quoting the value (it is a credential) nor raising.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Mapping

logger = logging.getLogger("bot.runbot")

HOW_TO_PAIR = (
    "pair this bot instead on the web app's /pair/ page (QR code or phone code) or with "
    "`manage.py runbot --pair-phone <your number>`, then remove SESSION_ID"
)


def session_id_kind(value: str) -> str:
    """What another bot's SESSION_ID looks like, in words (never any of its characters)."""
    text = value.strip()
    body = text.split("~", 1)[1] if "~" in text[:40] else text
    try:
        decoded = json.loads(base64.b64decode(body + "=" * (-len(body) % 4), validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        decoded = None
    if isinstance(decoded, dict) and ({"noiseKey", "signedIdentityKey", "me"} & set(decoded) or "creds" in decoded):
        return "a Baileys session (creds.json in base64)"
    if "~" in text[:40]:
        return "another bot's session id (a 'name~...' string)"
    return "another bot's session string"


def foreign_session_notice(environ: Mapping[str, str] | None = None) -> str | None:
    """The sentence for a SESSION_ID that is set, or None when it is not."""
    value = (os.environ if environ is None else environ).get("SESSION_ID", "")
    if not value.strip():
        return None
    return (
        f"SESSION_ID holds {session_id_kind(value)}: that format cannot carry a whatsmeow session, so it is not "
        f"used; {HOW_TO_PAIR}."
    )


def foreign_session_warn(environ: Mapping[str, str] | None = None) -> bool:
    """Log the sentence once at start when SESSION_ID is set; True when it was."""
    try:
        notice = foreign_session_notice(environ)
    except Exception:  # a start-up notice must never stop the bot
        notice = "SESSION_ID is set but cannot be used by this bot; " + HOW_TO_PAIR + "."
    if notice:
        logger.warning(notice)
    return notice is not None
