"""The group's picture for a welcome (``Transport.group_picture``): asked of WhatsApp, then fetched from its
CDN with a time and size bound. Imports neonize: only the bot child process uses this module.

A picture is a nicety: any failure (no picture, privacy, the CDN) is one log line and None, and the
outbound then sends the welcome as text.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from neonize.proto.Neonize_pb2 import GetProfilePictureParams

from bot.transport.base import Media
from bot.transport.neonize.translate import str_to_jid

logger = logging.getLogger(__name__)

MAX_PICTURE_BYTES = 5 * 1024 * 1024
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class GroupPictures:
    """Mixed into ``NeonizeTransport`` (which has ``client``); ``picture_http`` lets tests stand in for the CDN."""

    client: Any
    picture_http: httpx.BaseTransport | None = None

    def group_picture(self, chat: str) -> Media | None:
        try:
            info = self.client.get_profile_picture(
                str_to_jid(chat), GetProfilePictureParams(Preview=False, ExistingID="", IsCommunity=False)
            )
        except Exception as exc:
            logger.info("no group picture", extra={"chat": chat, "error": str(exc)[:200]})
            return None
        if not info.URL:
            return None
        data = picture_fetch(info.URL, transport=self.picture_http)
        return Media(data=data, mimetype="image/jpeg") if data else None


def picture_fetch(url: str, *, transport: httpx.BaseTransport | None = None) -> bytes:
    """The picture's bytes, or b'' when the fetch fails or passes ``MAX_PICTURE_BYTES``."""
    try:
        with httpx.Client(timeout=FETCH_TIMEOUT, transport=transport, follow_redirects=True) as http:
            with http.stream("GET", url) as response:
                response.raise_for_status()
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_PICTURE_BYTES:
                        logger.warning("group picture too large", extra={"bytes": len(body)})
                        return b""
                return bytes(body)
    except httpx.HTTPError as exc:
        logger.warning("group picture fetch failed", extra={"error": str(exc)[:200]})
        return b""
