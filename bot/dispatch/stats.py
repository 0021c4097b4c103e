"""In-memory counters of what the router did, drained by the runtime into ``MessageStat`` rows.

Counting is a few integer increments under a lock; the runtime calls ``drain()`` every few seconds
and writes one row per minute bucket, never one write per message.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class StatsSnapshot:
    messages_in: int = 0
    commands: int = 0
    errors: int = 0
    by_command: dict[str, int] = field(default_factory=dict)


class DispatchStats:
    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._messages_in = 0
        self._commands = 0
        self._errors = 0
        self._by_command: Counter[str] = Counter()
        self.total_messages_in = 0
        self.total_commands = 0
        self.total_errors = 0

    def message(self) -> None:
        if self.enabled:
            with self._lock:
                self._messages_in += 1
                self.total_messages_in += 1

    def command(self, name: str, *, error: bool = False) -> None:
        if self.enabled:
            with self._lock:
                self._commands += 1
                self.total_commands += 1
                self._by_command[name] += 1
                if error:
                    self._errors += 1
                    self.total_errors += 1

    def drain(self) -> StatsSnapshot:
        """The counts since the last drain, and reset them."""
        with self._lock:
            snap = StatsSnapshot(self._messages_in, self._commands, self._errors, dict(self._by_command))
            self._messages_in = self._commands = self._errors = 0
            self._by_command.clear()
        return snap
