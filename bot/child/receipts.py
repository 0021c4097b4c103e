"""What the bot child tells WhatsApp about itself: its presence after each connect, and read receipts.

Imported by ``bot.child.runtime`` (presence, once the connection is up) and
``bot.child.dispatching`` (receipts, after a batch's replies are queued, so a slow receipt never
holds a reply back). Both are best effort: a failure is one log line, never an exception.
"""

from __future__ import annotations

import logging

from bot.transport.base import IncomingMessage, Transport

logger = logging.getLogger("bot.child.runtime")


def presence_announce(transport: Transport, *, presence: str, session_name: str) -> bool:
    """PRESENCE after a connect: 'online', or 'unavailable' (the phone keeps its notifications)."""
    try:
        transport.announce_presence(online=presence == "online")
    except Exception as exc:
        logger.warning("presence not sent", extra={"session": session_name, "error": str(exc)[:200]})
        return False
    return True


def receipts_send(transport: Transport, messages: list[IncomingMessage], *, session_name: str) -> int:
    """Mark ``messages`` read (commands with READ_RECEIPTS, statuses viewed); returns how many were sent."""
    sent = 0
    for message in messages:
        try:
            transport.mark_read(message)
        except Exception as exc:
            logger.warning(
                "read receipt not sent", extra={"session": session_name, "msg_id": message.id, "error": str(exc)[:200]}
            )
            continue
        sent += 1
    return sent
