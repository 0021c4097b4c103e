"""Deletes and edits typed in the console transport: a JSON line with ``revoke`` or ``edit``.

Imported by ``bot.transport.console``. ``{"revoke": "<id>"}`` deletes message ``<id>`` for
everyone, ``{"edit": "<id>", "text": "new text"}`` edits it; ``chat``, ``sender``, ``id`` and
``from_me`` mean what they mean for a message (the sender defaults to the message's own author
when the console saw it, the chat to that sender's private chat, or the simulated group when
``group`` is given). So anti-delete and anti-edit can be tried without a phone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.transport.base import GROUP_SERVER, USER_SERVER, MessageEdited, MessageRevoked, jid_server

HISTORY_FIELDS = frozenset({"revoke", "edit", "chat", "sender", "text", "id", "from_me", "group"})
DEFAULT_GROUP = "120363000000000001@g.us"


def is_history_line(data: dict[str, Any]) -> bool:
    return "revoke" in data or "edit" in data


def history_event(data: dict[str, Any], *, console: Any) -> MessageRevoked | MessageEdited:
    """One console object -> a delete or an edit; raises the console's input error on a bad one."""
    from bot.transport.console import ConsoleInputError as error
    from bot.transport.console import as_jid

    unknown = set(data) - HISTORY_FIELDS
    if unknown:
        raise error(f"unknown field(s) for a revoke or edit: {', '.join(sorted(unknown))}")
    if "revoke" in data and "edit" in data:
        raise error("a line is a revoke or an edit, not both")
    target = data.get("revoke", data.get("edit"))
    if not isinstance(target, str) or not target.strip() or len(target) > 128:
        raise error("'revoke' and 'edit' take the id of the message (1-128 characters)")
    target = target.strip()
    sender = as_jid(data.get("sender") or console._senders.get(target) or console.default_user)
    group = data.get("group") is not None
    chat = as_jid(
        data.get("chat") or (DEFAULT_GROUP if group else sender), default_server=GROUP_SERVER if group else USER_SERVER
    )
    common: dict[str, Any] = {
        "id": str(data.get("id") or f"CONSOLE{console._run}{next(console._ids):06d}"),
        "chat": chat,
        "sender": sender,
        "target_id": target,
        "is_group": jid_server(chat) == GROUP_SERVER,
        "from_me": bool(data.get("from_me", False)),
        "timestamp": datetime.now(UTC),
    }
    if "revoke" in data:
        return MessageRevoked(target_sender=console._senders.get(target, ""), **common)
    text = data.get("text")
    if not isinstance(text, str):
        raise error("an edit needs the new 'text' (a string)")
    return MessageEdited(text=text, **common)
