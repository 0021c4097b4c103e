"""The connection state machine (docs/architecture.md, section 5): an event and its reason -> next state and action.

Pure: no I/O, no Django, time from an injected clock and jitter from an injected function, so every
rule is a row of a table test. The child runtime feeds it the transport's ``ConnectionSignal``s and
carries out the ``Decision`` it returns (record events, stop the transport, wait, reconnect, exit).

Two kinds of reconnect exist and never race each other:
- ``AWAIT``: an established connection dropped; whatsmeow reconnects by itself (linear back-off), we
  only watch and record the attempt.
- ``RETRY``: whatsmeow will not retry (a failed first dial, an unknown connect failure); we stop the
  transport and connect again after a capped exponential delay with full jitter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.backoff import BackoffPolicy
from bot.models import ConnectionState as State
from bot.reasons import NEONIZE_UPGRADE, REASON_LABELS, WHATSAPP_UNREACHABLE
from bot.transport.base import ConnectionSignal

TERMINAL_STATES = frozenset({State.LOGGED_OUT, State.REPLACED, State.OUTDATED, State.STOPPED})

# ConnectFailureReason names (neonize enum, lower-cased) grouped by what they mean for us.
LOGOUT_REASONS = frozenset({"logged_out", "main_device_gone", "unknown_logout"})
OUTDATED_REASONS = frozenset({"client_outdated", "bad_user_agent"})
BAN_REASONS = frozenset({"temp_banned"})
SERVER_REASONS = frozenset({"internal_server_error", "service_unavailable"})  # whatsmeow reconnects itself
RESTART_REQUIRED = "515"  # the stream error after which whatsmeow reconnects at once (after a pairing, too)
# A logout this soon after a 515 is confirmed before it counts: other projects delete healthy sessions on
# exactly that sequence. whatsmeow's reconnect after a 515 takes seconds; two minutes leave room for a slow one.
LOGOUT_CONFIRM_WINDOW = timedelta(seconds=120)
MAX_BAN_SECONDS = 30 * 24 * 3600.0  # WhatsApp's temporary bans last hours to days
# Words of a failed dial in whatsmeow's and Go's net errors: the network, DNS or the proxy, never
# the store (a store error says "failed to upgrade database" and is not fixed by waiting).
UNREACHABLE_WORDS = (
    "dial",
    "websocket",
    "no such host",
    "connection refused",
    "network is unreachable",
    "i/o timeout",
    "timed out",
    "proxy",
    "eof",
)


def connect_error_reason(*, reason: str, error: str) -> str:
    """The reason code of a failed connect of ours: ``whatsapp_unreachable`` when it is the network."""
    text = error.lower()
    if reason != "connect_returned" and any(word in text for word in UNREACHABLE_WORDS):
        return WHATSAPP_UNREACHABLE
    return reason or "connect_error"


def connect_error_line(decision: Decision, *, error: str, attempts: int) -> str:
    """The log line of a failed connect, in the operator's words: what failed, why, and what happens next."""
    what = REASON_LABELS.get(decision.reason, f"connect failed: {decision.reason}")
    line = f"{what} ({error})" if error else what
    if decision.action == Action.RETRY:
        return f"{line}, retrying in {_seconds(decision.delay)} s"
    if decision.action == Action.FRESH_CHILD:
        return f"{line}, giving up after {attempts} attempts in a row; a fresh bot child takes over"
    return line


def terminal_line(decision: Decision) -> str:
    """The one ERROR line of a connection that ended for good: for an outdated client, what to upgrade and how."""
    if decision.state == State.OUTDATED:
        version = decision.detail.get("neonize_version") or "of unknown version"
        return (
            f"WhatsApp refuses this client as outdated: neonize {version} must be upgraded "
            f"(run `{NEONIZE_UPGRADE}` and pin the new version in requirements.txt); not reconnecting"
        )
    return "connection ended for good; not retrying"


def _seconds(delay: float) -> str:
    return f"{delay:.1f}" if delay < 10 else f"{delay:.0f}"


class Action(StrEnum):
    NONE = "none"  # informational; nothing to do
    AWAIT = "await"  # whatsmeow's own auto-reconnect runs; watch it
    RETRY = "retry"  # stop the transport, connect again after ``delay`` seconds
    WAIT_UNTIL = "wait_until"  # temporary ban: stop the transport, connect again at ``until``
    FRESH_CHILD = "fresh_child"  # MAX_RECONNECT_ATTEMPTS failed in a row: let the supervisor start a new child
    STOP = "stop"  # terminal (logged out, replaced, outdated): stop, alert, never retry
    CHECK_LEASE = "check_lease"  # a StreamReplaced: ask the lease who replaced us, then handle it again
    FENCED = "fenced"  # another process of ours holds the lease: leave quietly (ChildExit.FENCED), mark nothing
    CONFIRM_LOGOUT = "confirm_logout"  # a logout right after a 515: the supervisor restores and reconnects once
    SHOW_QR = "show_qr"  # a QR or pairing code to show
    PAIRED = "paired"  # pairing succeeded: mark the session paired, back it up


@dataclass(frozen=True)
class Decision:
    """What one event means: the state after it, what to do, and which reconnect attempt it opens or closes."""

    previous: State
    state: State
    reason: str
    action: Action
    delay: float = 0.0
    until: datetime | None = None
    attempt: int = 0  # > 0: this decision opens reconnect attempt number ``attempt``
    closes_attempt: str = ""  # outcome ('succeeded', 'failed', 'gave_up') of the attempt still open, if any
    alert: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.previous != self.state


class ConnectionMachine:
    """Holds the current state and the count of failed attempts in a row; ``handle`` applies one event."""

    def __init__(
        self,
        *,
        policy: BackoffPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        state: State = State.STARTING,
        confirming_logout: bool = False,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self.clock = clock
        self.state = state
        self.since = clock()
        self.failures = 0  # failed connection attempts since the last success
        self.attempt_open = False  # a ReconnectEvent is pending
        self.connected_since: datetime | None = None
        # This child reconnects to confirm a logout (``runbot --child --confirm-logout``): a logout now is
        # final; a connection proves it false. When the last 515 came (a logout soon after is confirmed).
        self.confirming_logout = confirming_logout
        self.restart_required_at: datetime | None = None

    # -- lifecycle steps the runtime/supervisor take on their own -----------------------------
    def begin(self, state: State, *, reason: str = "") -> Decision:
        """An explicit step (restoring, connecting, stopped); not an event from the transport."""
        return self._move(state, reason or state.value, Action.NONE)

    # -- events ----------------------------------------------------------------------------
    def handle(self, signal: ConnectionSignal) -> Decision:
        if self.state in TERMINAL_STATES:
            return self._decision(self.state, f"ignored_{signal.kind}", Action.NONE)
        handler = getattr(self, f"_on_{signal.kind}", None)
        if handler is None:
            return self._decision(self.state, signal.kind, Action.NONE, detail=dict(signal.detail))
        return handler(signal)

    def _on_connected(self, signal: ConnectionSignal) -> Decision:
        closes = "succeeded" if self.attempt_open else ""
        self.failures = 0
        self.attempt_open = False
        self.connected_since = self.clock()
        self.confirming_logout = False  # connected: whatever logout we were confirming was not one
        return self._move(State.CONNECTED, signal.reason or "connected", Action.NONE, closes_attempt=closes)

    def _on_keepalive_restored(self, signal: ConnectionSignal) -> Decision:
        if self.state != State.RECONNECTING:
            return self._decision(self.state, "keepalive_restored", Action.NONE)
        return self._on_connected(ConnectionSignal(kind="connected", reason="keepalive_restored"))

    def _on_keepalive_timeout(self, signal: ConnectionSignal) -> Decision:
        if self.state != State.CONNECTED:
            return self._decision(self.state, "keepalive_timeout", Action.NONE, detail=dict(signal.detail))
        return self._move(State.RECONNECTING, "keepalive_timeout", Action.AWAIT, detail=dict(signal.detail))

    def _on_disconnected(self, signal: ConnectionSignal) -> Decision:
        return self._await_whatsmeow(signal.reason or "disconnected", dict(signal.detail))

    def _on_stream_error(self, signal: ConnectionSignal) -> Decision:
        if signal.reason == RESTART_REQUIRED:
            self.restart_required_at = self.clock()
        return self._await_whatsmeow(
            f"stream_error_{signal.reason}" if signal.reason else "stream_error", dict(signal.detail)
        )

    def _on_connect_error(self, signal: ConnectionSignal) -> Decision:
        """Our own connect() failed or returned by itself: whatsmeow will not retry, we do."""
        detail = dict(signal.detail)
        return self._retry(connect_error_reason(reason=signal.reason, error=str(detail.get("error", ""))), detail)

    def _on_connect_failure(self, signal: ConnectionSignal) -> Decision:
        reason = signal.reason or "unknown"
        detail = dict(signal.detail)
        if reason in LOGOUT_REASONS:
            return self._logout(f"connect_failure_{reason}", detail)
        if reason in OUTDATED_REASONS:
            return self._stop(State.OUTDATED, f"connect_failure_{reason}", detail)
        if reason in BAN_REASONS:
            return self._ban(f"connect_failure_{reason}", detail)
        if reason in SERVER_REASONS:
            return self._await_whatsmeow(f"connect_failure_{reason}", detail)
        return self._retry(f"connect_failure_{reason}", detail)

    def _on_logged_out(self, signal: ConnectionSignal) -> Decision:
        return self._logout(f"logged_out_{signal.reason}" if signal.reason else "logged_out", dict(signal.detail))

    def _on_stream_replaced(self, signal: ConnectionSignal) -> Decision:
        """Replaced: by the user's other WhatsApp Web (final), or by another process of ours that took the
        lease (then it is that one's session: leave, mark nothing). The runtime asks the lease and hands
        the signal back with ``detail["lease"]``: ``ours``, ``moved`` or ``unknown`` (the database away)."""
        detail = dict(signal.detail)
        lease = detail.get("lease")
        if lease is None:
            return self._decision(self.state, "stream_replaced_unchecked", Action.CHECK_LEASE, detail=detail)
        if lease != "ours":
            closes = "gave_up" if self.attempt_open else ""
            self.attempt_open = False
            return self._move(State.STOPPED, f"stream_replaced_lease_{lease}", Action.FENCED, closes_attempt=closes)
        return self._stop(State.REPLACED, "stream_replaced", detail)

    def _on_client_outdated(self, signal: ConnectionSignal) -> Decision:
        return self._stop(State.OUTDATED, "client_outdated", dict(signal.detail))

    def _on_temporary_ban(self, signal: ConnectionSignal) -> Decision:
        return self._ban(f"temporary_ban_{signal.reason}" if signal.reason else "temporary_ban", dict(signal.detail))

    def _on_qr(self, signal: ConnectionSignal) -> Decision:
        if self.confirming_logout:
            # The restore found nothing to reconnect with: the device is gone, the logout as certain as it gets.
            return self._stop(State.LOGGED_OUT, "logged_out_unconfirmable", {"why": "no backup to reconnect with"})
        return self._move(State.PAIRING, "qr", Action.SHOW_QR, detail=dict(signal.detail))

    def _on_pair_code(self, signal: ConnectionSignal) -> Decision:
        return self._move(State.PAIRING, "pair_code", Action.SHOW_QR, detail=dict(signal.detail))

    def _on_pair_success(self, signal: ConnectionSignal) -> Decision:
        return self._move(State.PAIRING, "pair_success", Action.PAIRED, detail=dict(signal.detail))

    def _on_pair_error(self, signal: ConnectionSignal) -> Decision:
        return self._move(State.PAIRING, "pair_error", Action.NONE, alert=True, detail=dict(signal.detail))

    # -- rules shared by several events ---------------------------------------------------------
    def _await_whatsmeow(self, reason: str, detail: dict[str, Any]) -> Decision:
        closes = "failed" if self.attempt_open else ""
        self.failures += 1
        if self.failures > self.policy.max_attempts:
            self.attempt_open = False
            return self._move(
                State.RECONNECTING, reason, Action.FRESH_CHILD, closes_attempt=closes or "gave_up", detail=detail
            )
        self.attempt_open = True
        return self._move(
            State.RECONNECTING, reason, Action.AWAIT, attempt=self.failures, closes_attempt=closes, detail=detail
        )

    def _retry(self, reason: str, detail: dict[str, Any]) -> Decision:
        closes = "failed" if self.attempt_open else ""
        self.failures += 1
        if self.failures > self.policy.max_attempts:
            self.attempt_open = False
            return self._move(
                State.RECONNECTING, reason, Action.FRESH_CHILD, closes_attempt=closes or "gave_up", detail=detail
            )
        self.attempt_open = True
        delay = self.policy.delay(self.failures)
        detail = {**detail, "ceiling": self.policy.ceiling(self.failures)}
        return self._move(
            State.RECONNECTING,
            reason,
            Action.RETRY,
            delay=delay,
            attempt=self.failures,
            closes_attempt=closes,
            detail=detail,
        )

    def _logout(self, reason: str, detail: dict[str, Any]) -> Decision:
        """A logout is final, unless it came right after a 515 in a child not confirming one already."""
        since = self.restart_required_at
        if not self.confirming_logout and since is not None and self.clock() - since <= LOGOUT_CONFIRM_WINDOW:
            closes = "failed" if self.attempt_open else ""
            self.attempt_open = False
            detail = {**detail, "logout_reason": reason, "after": f"stream_error_{RESTART_REQUIRED}"}
            return self._move(
                State.RECONNECTING, "logout_unconfirmed", Action.CONFIRM_LOGOUT, closes_attempt=closes, detail=detail
            )
        if self.confirming_logout:
            detail = {**detail, "confirmed": True}
        return self._stop(State.LOGGED_OUT, reason, detail)

    def _stop(self, state: State, reason: str, detail: dict[str, Any]) -> Decision:
        closes = "gave_up" if self.attempt_open else ""
        self.attempt_open = False
        return self._move(state, reason, Action.STOP, closes_attempt=closes, alert=True, detail=detail)

    def _ban(self, reason: str, detail: dict[str, Any]) -> Decision:
        closes = "failed" if self.attempt_open else ""
        self.attempt_open = False
        seconds = float(detail.get("expire_seconds") or 0)
        # Expire is an int64 from the server: a value <= 0 means "unknown" (wait one cap), and one past
        # MAX_BAN_SECONDS is clamped (a date beyond datetime's range would crash the child on every connect).
        seconds = self.policy.cap if seconds <= 0 else min(seconds, MAX_BAN_SECONDS)
        until = self.clock() + timedelta(seconds=seconds)
        detail = {**detail, "until": until.isoformat()}
        return self._move(
            State.BANNED,
            reason,
            Action.WAIT_UNTIL,
            delay=seconds,
            until=until,
            closes_attempt=closes,
            alert=True,
            detail=detail,
        )

    def _move(self, state: State, reason: str, action: Action, **kwargs: Any) -> Decision:
        decision = self._decision(state, reason, action, **kwargs)
        if state != self.state:
            self.since = self.clock()
            if state != State.CONNECTED:
                self.connected_since = None
        self.state = state
        return decision

    def _decision(self, state: State, reason: str, action: Action, **kwargs: Any) -> Decision:
        return Decision(previous=self.state, state=state, reason=reason, action=action, **kwargs)
