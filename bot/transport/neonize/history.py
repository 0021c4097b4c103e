"""neonize's deletes and edits -> the seam's ``MessageRevoked`` / ``MessageEdited``; view-once detection.

Imported by the neonize transport (bot child only). whatsmeow delivers both as a ``MessageEv``
whose content is a ``ProtocolMessage`` naming the target message by its key: type ``REVOKE`` for a
delete for everyone (by its author, or by a group admin: then ``key.participant`` is the author),
``MESSAGE_EDIT`` with ``editedMessage`` (the new content) for an edit, usually inside an
``editedMessage`` wrapper that whatsmeow may or may not have taken off already (``ev.IsEdit``).
Everything else goes on as an ``IncomingMessage``. Pure, never raises on a well-formed event.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message, ProtocolMessage

from bot.transport.base import GROUP_SERVER, IncomingMessage, MessageEdited, MessageRevoked, jid_server
from bot.transport.neonize.translate import (
    jid_to_str,
    message_text,
    ms_to_datetime,
    non_ad,
    translate_message,
    unwrap,
)

# Wrappers a protocol message may arrive in (a disappearing-messages chat wraps everything).
_WRAPPERS = ("ephemeralMessage", "editedMessage", "viewOnceMessage", "viewOnceMessageV2", "deviceSentMessage")
_VIEW_ONCE_WRAPPERS = ("viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension")
_VIEW_ONCE_MEDIA = ("imageMessage", "videoMessage", "audioMessage", "ptvMessage")


def protocol_message(message: Message) -> ProtocolMessage | None:
    """The ProtocolMessage inside ``message`` (through at most four wrappers), or None."""
    for _ in range(4):
        if message.HasField("protocolMessage"):
            return message.protocolMessage
        for name in _WRAPPERS:
            if message.HasField(name) and getattr(message, name).HasField("message"):
                message = getattr(message, name).message
                break
        else:
            return None
    return None


def is_view_once(ev: Any) -> bool:
    """A view-once message, by whatsmeow's flags, a wrapper left on, or the media's own flag."""
    if ev.IsViewOnce or ev.IsViewOnceV2 or ev.IsViewOnceV2Extension:
        return True
    for message in (ev.Message, ev.Raw):
        if any(message.HasField(name) for name in _VIEW_ONCE_WRAPPERS):
            return True
        inner = unwrap(message)
        if any(inner.HasField(name) and getattr(inner, name).viewOnce for name in _VIEW_ONCE_MEDIA):
            return True
    return False


def translate_history(ev: Any) -> MessageRevoked | MessageEdited | None:
    """A delete-for-everyone or an edit -> its seam event; None for any other message."""
    if ev.Message.conversation or ev.Message.HasField("extendedTextMessage"):
        return None  # the common case, in two field checks
    proto = protocol_message(ev.Message)
    if proto is None or not proto.key.ID:
        return None
    source = ev.Info.MessageSource
    chat = jid_to_str(source.Chat)
    sender = jid_to_str(source.Sender)
    common: dict[str, Any] = {
        "id": ev.Info.ID,
        "chat": chat,
        "sender": sender,
        "target_id": proto.key.ID,
        "sender_alt": jid_to_str(source.SenderAlt) if source.SenderAlt.User else "",
        "is_group": bool(source.IsGroup) or jid_server(chat) == GROUP_SERVER,
        "from_me": bool(source.IsFromMe),
        "timestamp": ms_to_datetime(ev.Info.Timestamp),
    }
    if proto.type == ProtocolMessage.Type.REVOKE:
        if proto.key.participant:
            author = non_ad(proto.key.participant)
        else:
            author = sender if proto.key.fromMe else ""
        return MessageRevoked(target_sender=author, **common)
    if proto.type == ProtocolMessage.Type.MESSAGE_EDIT and proto.HasField("editedMessage"):
        return MessageEdited(text=message_text(unwrap(proto.editedMessage), unwrapped=True), **common)
    return None


def translate_inbound(ev: Any) -> IncomingMessage | MessageRevoked | MessageEdited:
    """What the transport hands on for one ``MessageEv``: a delete, an edit, or a message."""
    event = translate_history(ev)
    if event is not None:
        return event
    message = translate_message(ev)
    return replace(message, view_once=True) if is_view_once(ev) else message
