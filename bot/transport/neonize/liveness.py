"""The neonize side of the liveness round trip: a usync query about our own account.

Why this question: WhatsApp's servers must answer it (a user-info query for our own number, one
small IQ each way, ~1 KB a round trip, ~100 KB a day at the default 15 minutes), it sends nothing
to anyone's chats, and whatsmeow keeps no cache for it (its device-list call answers from a cache).
The answer is read by the same websocket reader that reads messages, then handed to the transport's
event queue as a ``LivenessPong``, so it travels the messages' path up to a dispatcher. Its device
list also says whether the primary phone (device 0) is still linked.

A query on a half-dead socket may block in Go for good: one question at a time, on a daemon thread;
a question still waiting is simply not answered, which is what the runtime counts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.transport.base import LivenessPong
from bot.transport.neonize.translate import str_to_jid

logger = logging.getLogger(__name__)


class Prober:
    """Asks WhatsApp about our own account; answers go to ``deliver`` (the transport's event queue)."""

    def __init__(self, client: Any, *, me: Callable[[], str], deliver: Callable[[LivenessPong], None]) -> None:
        self.client = client
        self.me = me
        self.deliver = deliver
        self._busy = threading.Lock()

    def probe(self, token: str) -> bool:
        """Start one question; False when the previous one is still waiting in Go (no second thread)."""
        if not self._busy.acquire(blocking=False):
            logger.info("liveness question still waiting; not asking another", extra={"token": token})
            return False
        threading.Thread(target=self._ask, args=(token,), name="liveness-probe", daemon=True).start()
        return True

    def _ask(self, token: str) -> None:
        try:
            own = self.me()
            if not own:
                return
            infos = self.client.get_user_info(str_to_jid(own))
            devices = [device for info in infos for device in info.UserInfo.Devices]
            primary = any(device.Device == 0 for device in devices) if devices else None
            self.deliver(LivenessPong(token=token, primary_linked=primary))
        except Exception as exc:  # NeonizeError, GetUserInfoError, a socket gone: an unanswered question
            logger.info("liveness question failed", extra={"token": token, "error": str(exc)[:200]})
        finally:
            self._busy.release()
