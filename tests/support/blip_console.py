"""A test transport for database outage proofs: the console transport plus ``!blip TAG``, a WhatsApp
link that drops and comes back. Loaded by the bot child as ``--transport tests.support.blip_console:BlipConsole``.

One blip makes the child write what a real reconnect writes: two transitions (``reason=blip_TAG``,
then ``reason=back_TAG``) and one reconnect attempt opened and closed, so a test can send one while
the database is away and look for the rows afterwards.
"""

from __future__ import annotations

from bot.transport.base import ConnectionSignal, IncomingMessage
from bot.transport.console import ConsoleTransport


class BlipConsole(ConsoleTransport):
    def parse_line(self, line: str) -> IncomingMessage | None:
        if line.startswith("!blip "):
            tag = line.split()[1]
            self.on_signal(ConnectionSignal(kind="disconnected", reason=f"blip_{tag}"))
            self.on_signal(ConnectionSignal(kind="connected", reason=f"back_{tag}"))
            return None
        return super().parse_line(line)
