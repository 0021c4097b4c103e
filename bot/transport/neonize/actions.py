"""What the neonize transport does besides sending messages: call rejects, read receipts, presence, polls.

Imported only by ``bot.transport.neonize.client`` (the bot child). A mixin of ``NeonizeTransport``:
it needs ``self.client`` (neonize's ``NewClient``) and ``self.session_name``.
"""

from __future__ import annotations

import logging
from typing import Any

from neonize.exc import NeonizeError
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo, Message
from neonize.utils.enum import Presence, ReceiptType, VoteType

from bot.transport.base import IncomingCall, IncomingMessage, Reply, TransportError
from bot.transport.neonize.translate import restricted, send_error_kind, str_to_jid

logger = logging.getLogger("bot.transport.neonize.client")

POLL_OPTIONS_MIN, POLL_OPTIONS_MAX = 2, 12  # WhatsApp's bounds on a poll's answers


def _error(exc: NeonizeError) -> TransportError:
    text = str(exc)
    return TransportError(text, restricted=restricted(text), kind=send_error_kind(text))


class NeonizeActions:
    client: Any
    session_name: str

    def _poll_message(self, reply: Reply, context: ContextInfo | None) -> Message:
        """A poll built by whatsmeow (it adds the message secret votes are encrypted with)."""
        if not POLL_OPTIONS_MIN <= len(reply.options) <= POLL_OPTIONS_MAX:
            raise ValueError(f"a poll needs {POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX} options, not {len(reply.options)}")
        message = self.client.build_poll_vote_creation(reply.text, list(reply.options), VoteType.SINGLE)
        if context is not None:
            message.pollCreationMessage.contextInfo.MergeFrom(context)
        return message

    def reject_call(self, call: IncomingCall) -> None:
        """Decline with the creator's JID as the offer carried it (whatsmeow addresses the reject to it)."""
        meta = getattr(call.raw, "basicCallMeta", None)
        caller = meta.callCreator if meta is not None and meta.callCreator.User else str_to_jid(call.caller)
        try:
            self.client.reject_call(caller, call.id)
        except NeonizeError as exc:
            raise _error(exc) from exc

    def mark_read(self, message: IncomingMessage) -> None:
        try:
            self.client.mark_read(
                message.id,
                chat=str_to_jid(message.chat),
                sender=str_to_jid(message.sender),
                receipt=ReceiptType.READ,
            )
        except NeonizeError as exc:
            raise _error(exc) from exc

    def announce_presence(self, *, online: bool) -> None:
        try:
            self.client.send_presence(Presence.AVAILABLE if online else Presence.UNAVAILABLE)
        except NeonizeError as exc:
            raise _error(exc) from exc
