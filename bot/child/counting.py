"""What the bot child counts of what goes wrong on the connection, into the session's one collector.

Imported by ``bot.child.runtime``. The keys are the contract with the web dyno
(``ops.selectors.counters``): ``undecryptable:unavailable|failed`` (whatsmeow's
``UndecryptableMessage``: the server sent a placeholder, or our Signal keys could not open it),
``keepalive_timeout``, ``reconnect:<reason>`` (one per reconnect attempt, as its ``ReconnectEvent``),
``send_failure:<kind>`` (counted by ``bot.child.sending``) and ``call:<outcome>`` (anti-call,
counted by ``bot.dispatch.calls``).
"""

from __future__ import annotations

from bot.child.connection import Decision
from bot.dispatch.stats import StatsCollector
from bot.transport.base import ConnectionSignal

UNDECRYPTABLE = "undecryptable"
UNDECRYPTABLE_FAILED = "undecryptable:failed"
KEEPALIVE_TIMEOUT = "keepalive_timeout"


def signal_count(stats: StatsCollector, signal: ConnectionSignal) -> bool:
    """Count what ``signal`` says went wrong; True when counting is all it is for (no state to change)."""
    if signal.kind == UNDECRYPTABLE:
        stats.count(f"{UNDECRYPTABLE}:{'unavailable' if signal.reason == 'unavailable' else 'failed'}")
        return True
    if signal.kind == KEEPALIVE_TIMEOUT:
        stats.count(KEEPALIVE_TIMEOUT)
    return False


def decision_count(stats: StatsCollector, decision: Decision) -> None:
    """A decision that opens a reconnect attempt counts one reconnect under its reason."""
    if decision.attempt:
        stats.count(f"reconnect:{decision.reason}")
