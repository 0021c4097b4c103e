"""The ``Media`` a transport sends: the one media_cdn type that crosses the transport seam.

The bot child's ``resolver`` builds it; ``bot.transport.base`` re-exports it so the transports
and the outbound queue keep naming it there. Here, so media_cdn never imports ``bot``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Media:
    """Bytes ready to send, with what WhatsApp needs to know about them (no ffprobe at send time)."""

    data: bytes
    mimetype: str
    sha256: str = ""
    width: int = 0
    height: int = 0
    duration_seconds: float = 0.0
    thumbnail_jpeg: bytes = b""
    gif_playback: bool = False
    asset: str = ""
