"""The bot child: transport + dispatcher + connection state machine + heartbeat + stats flush.

Threads, and why:
- the transport's own thread (Go's, for neonize) only translates an event and puts it on a queue:
  messages on the bounded ``inbox``, connection signals on ``signals``; it never waits for us;
- a connector thread runs the blocking ``transport.connect()`` (neonize's returns only on stop or a
  failed dial);
- the main thread (``run``) feeds signals to the ``ConnectionMachine`` and carries out its decisions:
  record events, stop the transport, schedule the next connect, or exit with a ``ChildExit`` code;
- dispatcher threads take messages from the inbox: router -> replies -> the outbox table;
- sender lanes (``bot.child.sending``) drain the outbox through the paced outbound while connected;
- a heartbeat thread beats to the supervisor, samples memory and flushes the stats.

Nothing here imports neonize: ``bot.child.transports`` builds the transport (``bot.child.main``).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection

from bot import events, runtime_settings
from bot.backoff import BackoffPolicy
from bot.child.beating import Beating
from bot.child.connection import Action, ConnectionMachine, Decision, connect_error_line, terminal_line
from bot.child.counting import decision_count, signal_count
from bot.child.dispatching import Dispatching
from bot.child.listening import Listening, liveness_config
from bot.child.liveness import LivenessWatch
from bot.child.memory import release_memory
from bot.child.misread import misread_act
from bot.child.receipts import presence_announce
from bot.child.sending import OutboxSender
from bot.child.stopping import Stopping
from bot.dispatch.limits import PacingConfig
from bot.dispatch.outbound import Outbound
from bot.dispatch.stats import StatsCollector
from bot.heartbeat import BeatWriter, ChildExit, Progress
from bot.models import ConnectionState as State
from bot.transport.base import ConnectionSignal, GroupChange, IncomingCall, IncomingMessage, Transport

logger = logging.getLogger(__name__)

_FINISHED = ConnectionSignal(kind="input_finished")
QR_VALID_SECONDS = 60.0  # how long a QR code lives when the transport does not say (neonize: 60 s, then 20 s)
SECRET_DETAIL_KEYS = frozenset({"code", "qr"})  # never stored in events or logs


def _media_shed() -> int:
    from media_cdn.resolver import resolver_shed  # lazily: the media stack loads on first reaction

    return resolver_shed()


def register_shedders(guard: Any, router: Any) -> None:
    """Everything the memory guard may drop at the soft limit: the media LRU, the group metadata
    cache and idle command modules (each comes back on demand)."""
    guard.register("media_lru", _media_shed)
    shedders = getattr(router, "shedders", None)
    if callable(shedders):
        for name, shedder in shedders().items():
            guard.register(name, shedder)


def build_router(*, transport: Transport, session_name: str, stats: StatsCollector) -> Any:
    """The session's router (commands, chat state, limits, its paced outbound)."""
    from bot.dispatch import build_router as dispatch_router

    return dispatch_router(transport=transport, session_name=session_name, stats=stats)


# -- the runtime ----------------------------------------------------------------------------------------
class BotRuntime(Dispatching, Beating, Listening, Stopping):
    """Runs one session's bot until stopped; ``run()`` returns a ``ChildExit`` code."""

    def __init__(
        self,
        *,
        transport: Transport,
        session_name: str,
        router: Any | None = None,
        sender: OutboxSender | None = None,
        machine: ConnectionMachine | None = None,
        stats: StatsCollector | None = None,
        beats: BeatWriter | None = None,
        memory_guard: Any | None = None,
        webhooks: Any | None = None,
        on_qr: Callable[[ConnectionSignal], None] | None = None,
        on_paired: Callable[[ConnectionSignal], None] | None = None,
        on_connected: Callable[[Decision], None] | None = None,
        on_terminal: Callable[[Decision], None] | None = None,
        liveness: LivenessWatch | None = None,
        deaf_restarts: bool = True,
        workers: int = 2,
        inbox_size: int = 1000,
        heartbeat_interval: float = 5.0,
        flush_interval: float = 5.0,
        drain_timeout: float = 10.0,
        tick: float = 0.2,
    ) -> None:
        self.transport = transport
        self.session_name = session_name
        self.fencing: int | None = None  # the lease's number (child/main.py sets it): stale writes are refused
        self.stats = stats or StatsCollector(session_name=session_name)
        if router is None:
            router = build_router(transport=transport, session_name=session_name, stats=self.stats)
        self.router = router
        # The project's router counts what it handles into this same collector; a router of another
        # kind (a test double) does not, so the runtime counts its results instead: once either way.
        self.router_counts = getattr(router, "stats", None) is self.stats
        self.workers = max(1, workers)
        outbound = getattr(router, "outbound", None) or Outbound(  # a router double: unpaced, as it always sent
            transport=transport, session_name=session_name, pacing=PacingConfig(enabled=False)
        )
        self.sender = sender or OutboxSender(
            session_name=session_name,
            outbound=outbound,
            stats=self.stats,
            can_send=self._can_send,
            lanes=self.workers,
            fencing=lambda: self.fencing,
        )
        self.machine = machine or ConnectionMachine(
            policy=BackoffPolicy(
                base=settings.RECONNECT_BASE_SECONDS,
                cap=settings.RECONNECT_CAP_SECONDS,
                max_attempts=settings.MAX_RECONNECT_ATTEMPTS,
            )
        )
        self.beats = beats
        self.memory_guard = memory_guard
        if memory_guard is not None:
            register_shedders(memory_guard, router)
        self.webhooks = webhooks
        self.on_qr = on_qr
        self.on_paired = on_paired
        self.on_connected = on_connected
        self.on_terminal = on_terminal
        self.heartbeat_interval = heartbeat_interval
        self.flush_interval = flush_interval
        self.drain_timeout = drain_timeout
        self.tick = tick

        self.inbox: queue.Queue[object] = queue.Queue(maxsize=inbox_size)
        self.signals: queue.SimpleQueue[ConnectionSignal] = queue.SimpleQueue()
        self.progress = Progress()
        self.dropped = 0
        self.exit_code: int | None = None
        self._stop = threading.Event()
        self._accepting = True
        self._expect_return = False
        self._next_connect_at: float | None = 0.0
        self._connector: threading.Thread | None = None
        self._dispatchers: list[threading.Thread] = []
        self._heartbeat: threading.Thread | None = None
        self._open_attempt: Any = None  # the ReconnectEvent still pending
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._transport_stopped = False
        self._liveness_setup(liveness or LivenessWatch(liveness_config(restarts=deaf_restarts)))

        transport.set_handlers(
            on_message=self._on_message,
            on_signal=self._on_signal,
            on_group_change=self._on_group_change,
            on_liveness=self._on_liveness,
            on_call=self._on_call,
        )

    # -- called from the transport's thread: never block ----------------------------------------------
    def _on_message(self, message: IncomingMessage) -> None:
        self.progress.touch()
        if self.liveness is not None:
            self.liveness.inbound(message=True)
        if not self._accepting:
            self.dropped += 1
            return
        try:
            self.inbox.put_nowait(message)
        except queue.Full:
            self.dropped += 1
            self.stats.error()
            logger.warning("inbox full, message dropped", extra={"session": self.session_name, "dropped": self.dropped})

    def _on_group_change(self, change: GroupChange) -> None:
        self.progress.touch()
        if self.liveness is not None:
            self.liveness.inbound(message=False)
        if self._accepting:
            try:
                self.inbox.put_nowait(change)
            except queue.Full:
                self.dropped += 1

    def _on_call(self, call: IncomingCall) -> None:
        """A call offer: queued like a message (anti-call writes to the database: a dispatcher's work)."""
        self.progress.touch()
        if self._accepting:
            try:
                self.inbox.put_nowait(call)
            except queue.Full:
                self.dropped += 1

    def _on_signal(self, signal: ConnectionSignal) -> None:
        grace = 0.0
        if signal.kind in {"qr", "pair_code"}:
            # Waiting for a scan is progress while the code is valid; quiet well past that means
            # neonize's QR loop ended and it sits in FetchMe for good: the supervisor replaces the child.
            grace = float(signal.detail.get("valid_for", QR_VALID_SECONDS)) * 1.25 + 1.0
        self.progress.touch(grace)
        if not signal_count(self.stats, signal):
            self.signals.put(signal)

    def _can_send(self) -> bool:
        """The sender sends only over a live connection (a queued reply waits out a reconnect)."""
        return self.machine.state == State.CONNECTED and not self._transport_stopped

    # -- control ------------------------------------------------------------------------------------------
    def request_stop(self, *, exit_code: int = ChildExit.DONE, reason: str = "stop") -> None:
        """From a signal handler or any thread: finish in-flight work and return from ``run``."""
        if self.exit_code is None:
            self.exit_code = exit_code
            self.stop_reason = reason
        elif self._stop.is_set():  # asked again while stopping: what is left to send gets the drain timeout
            self.sender.hurry(deadline=time.monotonic() + self.drain_timeout)
        self._accepting = False
        self._stop.set()

    def run(self) -> int:
        """Connect, serve, and shut down; returns the exit code for the supervisor."""
        self.stop_reason = getattr(self, "stop_reason", "stop")
        self._record(self.machine.begin(State.CONNECTING, reason="child_started"))
        for n in range(self.workers):
            thread = threading.Thread(target=self._dispatch_loop, name=f"dispatch-{n}", daemon=True)
            thread.start()
            self._dispatchers.append(thread)
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        self._heartbeat.start()
        self.sender.start()
        release_memory()  # start-up garbage (imports, settings, app registry) back to the OS
        try:
            while not self._stop.is_set():
                self._maybe_connect()
                try:
                    signal = self.signals.get(timeout=self.tick)
                except queue.Empty:
                    continue
                self._handle_signal(signal)
        finally:
            self._shutdown()
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # run() on a thread of its own (tests, embedding): leave no session open
        return self.exit_code if self.exit_code is not None else ChildExit.DONE

    def _maybe_connect(self) -> None:
        if self._next_connect_at is None or time.monotonic() < self._next_connect_at:
            return
        if self._connector is not None and self._connector.is_alive():
            return
        self._next_connect_at = None
        self._expect_return = False
        self.progress.touch()
        self._connector = threading.Thread(target=self._connect_once, name="connector", daemon=True)
        self._connector.start()

    def _connect_once(self) -> None:
        try:
            self.transport.connect()
        except Exception as exc:
            self.signals.put(
                ConnectionSignal(kind="connect_error", reason=type(exc).__name__, detail={"error": str(exc)[:300]})
            )
            return
        if self.transport.finished:
            self.signals.put(_FINISHED)
        elif not self._expect_return and not self._stop.is_set():
            self.signals.put(ConnectionSignal(kind="connect_error", reason="connect_returned"))

    def _handle_signal(self, signal: ConnectionSignal) -> None:
        if signal is _FINISHED:
            logger.info("transport input finished; draining", extra={"session": self.session_name})
            self.request_stop(exit_code=ChildExit.DONE, reason="input_finished")
            return
        self._forward_to_outbound(signal)
        decision = self.machine.handle(signal)
        if signal.kind == "connect_error":
            error = str(signal.detail.get("error", ""))
            line = connect_error_line(decision, error=error, attempts=self.machine.failures - 1)
            logger.warning(line, extra={"session": self.session_name, "reason": decision.reason})
        self._record(decision)
        self._act(decision, signal)

    def _forward_to_outbound(self, signal: ConnectionSignal) -> None:
        outbound = getattr(self.router, "outbound", None)
        hook = getattr(outbound, "on_signal", None)
        if hook is not None:
            try:
                hook(signal)
            except Exception:
                logger.exception("outbound signal hook failed")

    def _act(self, decision: Decision, signal: ConnectionSignal) -> None:
        if misread_act(self, decision, signal):  # StreamReplaced asked of the lease, a logout after a 515
            return
        action = decision.action
        if action == Action.RETRY:
            self._stop_transport()
            self._next_connect_at = time.monotonic() + decision.delay
            self.progress.touch(decision.delay)
        elif action == Action.WAIT_UNTIL:
            self._stop_transport()
            self._next_connect_at = time.monotonic() + decision.delay
            self.progress.touch(decision.delay)
            logger.warning(
                "temporarily banned; waiting for the expiry",
                extra={"session": self.session_name, "until": decision.until, "reason": decision.reason},
            )
        elif action == Action.STOP:
            logger.error(
                terminal_line(decision),
                extra={"session": self.session_name, "state": decision.state.value, "reason": decision.reason},
            )
            self._call_hook(self.on_terminal, decision)
            self.request_stop(exit_code=ChildExit.TERMINAL, reason=decision.reason)
        elif action == Action.FRESH_CHILD:
            logger.error(
                "reconnect attempts exhausted; asking for a fresh child",
                extra={"session": self.session_name, "attempts": self.machine.failures - 1},
            )
            self.request_stop(exit_code=ChildExit.FRESH, reason="reconnect_exhausted")
        elif action == Action.SHOW_QR:
            self._call_hook(self.on_qr, signal)
        elif action == Action.PAIRED:
            self._call_hook(self.on_paired, signal)

    def _call_hook(self, hook: Callable[[Any], None] | None, arg: Any) -> None:
        if hook is None:
            return
        try:
            hook(arg)
        except Exception:
            logger.exception("runtime hook failed", extra={"session": self.session_name})

    def _stop_transport(self) -> None:
        self._transport_stopped = self._stop.is_set()  # a RETRY/WAIT stop comes back; the last one does not
        if self._connector is not None and self._connector.is_alive():
            self._expect_return = True
            try:
                self.transport.stop()
            except Exception:
                logger.exception("transport stop failed", extra={"session": self.session_name})

    # -- recording ----------------------------------------------------------------------------------------
    def _record(self, decision: Decision) -> None:
        detail = {k: v for k, v in decision.detail.items() if k not in SECRET_DETAIL_KEYS}
        detail["pid"] = os.getpid()  # which child wrote it: tells two workers' events apart
        decision_count(self.stats, decision)
        try:
            if decision.closes_attempt and self._open_attempt is not None:
                events.reconnect_event_close(event=self._open_attempt, outcome=decision.closes_attempt)
                self._open_attempt = None
            if decision.changed:
                self._liveness_state(decision.state, decision.previous)
                events.transition_record(
                    session_name=self.session_name,
                    from_state=decision.previous,
                    to_state=decision.state,
                    reason=decision.reason,
                    detail=detail,
                    webhooks=self.webhooks,
                    fencing=self.fencing,
                )
                if decision.state == State.CONNECTED:
                    self.sender.wake()  # what an earlier owner left queued goes out now
                    self._call_hook(self.on_connected, decision)
                    self._announce_outage()
                    presence = runtime_settings.runtime_value("PRESENCE", session=self.session_name)
                    presence_announce(self.transport, presence=presence, session_name=self.session_name)
            if decision.attempt:
                attempt = events.reconnect_event_open(
                    session_name=self.session_name,
                    attempt=decision.attempt,
                    delay_seconds=decision.delay,
                    reason=decision.reason,
                    detail=detail,
                )
                self._open_attempt = attempt  # the row itself: its id is known only once written
        except Exception:
            logger.exception("recording a connection event failed", extra={"session": self.session_name})
