"""The ``runbot`` parent: owns the session, starts and watches the bot child, shuts down cleanly.

It never imports neonize (a process that imported it must never fork, and neonize's ``connect()``
can hang where only SIGKILL helps), so everything Go-related lives in the child, a fresh
``python manage.py runbot --child`` subprocess. The supervisor:

1. takes the session's lease (a hot standby, its child pre-warmed, while another holds it) first;
2. runs the restore chain (live store -> newest verified backup -> env vars -> pair anew);
3. starts the django-q2 cluster (unless ``--no-scheduler``) and the child;
4. loops: reads heartbeats, kills a hung child (SIGTERM, then SIGKILL), restarts a dead one with
   back-off inside a restart budget, renews the lease (losing it stops the child at once), and runs
   the operators' control requests;
5. on SIGTERM/SIGINT: stops the child (which drains its handlers), takes the final backup
   (``reason=shutdown``), releases the lease and exits 0 within ``SHUTDOWN_GRACE`` (``stopping.py``).

A database outage is not a crash: the loop notes it once (``bot.db_buffer``), skips what needs the
database, keeps the child running, and a child that dies meanwhile costs no restart budget.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from bot import events
from bot.backoff import BackoffPolicy
from bot.db_buffer import component_set, drop_connection, is_outage, outage_watch, write_buffer
from bot.links import pairing_page_url
from bot.models import ConnectionState as State
from bot.models import ReconnectEvent
from bot.supervisor.budget import RestartBudget
from bot.supervisor.children import Child, ChildHandling
from bot.supervisor.operator_requests import OperatorRequests
from bot.supervisor.ownership import NoOwnership, Ownership, ownership_for
from bot.supervisor.planned_restart import PlannedRestart, planned_restart_perform
from bot.supervisor.policy import ExitFacts, Verdict, decide_exit, idle_line
from bot.supervisor.restore_watch import RestoreWatching
from bot.supervisor.scheduler import scheduler_start, scheduler_stop
from bot.supervisor.session import SessionCalls, temp_sweep_at_start
from bot.supervisor.stopping import BACKUP_RESERVE_SECONDS, Stopping
from bot.transport.base import SESSION_TRANSPORTS

logger = logging.getLogger(__name__)

__all__ = ["Child", "NoOwnership", "Supervisor"]

RESTART_WINDOW = 600.0  # CHILD_RESTART_LIMIT automatic child restarts allowed within this many seconds
HEALTHY_AFTER = 120.0  # a child that ran this long without dying resets the restart back-off


class Supervisor(ChildHandling, SessionCalls, OperatorRequests, RestoreWatching, Stopping):
    """One session's supervisor; ``run()`` returns the process exit code."""

    def __init__(
        self,
        *,
        session_name: str,
        transport: str = "neonize",
        pair_phone: str = "",
        scheduler: bool = True,
        run_once: bool = False,
        heartbeat_timeout: float | None = None,
        shutdown_grace: float | None = None,
        backoff: BackoffPolicy | None = None,
        budget: RestartBudget | None = None,
        ownership: Ownership | None = None,
        uses_session: bool | None = None,
        prewarm: bool | None = None,
        startup_grace: float = 30.0,
        kill_grace: float | None = None,
        control_interval: float = 3.0,
        tick: float = 0.1,
        python: str = sys.executable,
        manage_py: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_name = session_name
        self.transport = transport
        self.pair_phone = pair_phone
        # restore chain and backups: the neonize transport's session, or any session ``runbot --all`` leased
        self.uses_session = transport in SESSION_TRANSPORTS if uses_session is None else uses_session
        self.scheduler = scheduler
        self.run_once = run_once
        self.heartbeat_timeout = float(heartbeat_timeout or settings.HEARTBEAT_TIMEOUT)
        self.shutdown_grace = float(shutdown_grace or settings.SHUTDOWN_GRACE)
        self.backoff = backoff or BackoffPolicy(
            base=settings.RECONNECT_BASE_SECONDS,
            cap=settings.RECONNECT_CAP_SECONDS,
            max_attempts=settings.CHILD_RESTART_LIMIT,
        )
        self.budget = budget or RestartBudget(limit=settings.CHILD_RESTART_LIMIT, window=RESTART_WINDOW, clock=clock)
        self.ownership = ownership or ownership_for(session_name=session_name, transport=transport)
        # a standby's child waits pre-warmed (bot.supervisor.prewarm); a lease handed over (--all) has no standby
        default_prewarm = ownership is None and transport in SESSION_TRANSPORTS and settings.STANDBY_PREWARM
        self.prewarm = default_prewarm if prewarm is None else prewarm
        self.startup_grace = startup_grace
        self.kill_grace = kill_grace if kill_grace is not None else min(5.0, self.heartbeat_timeout)
        self.control_interval = control_interval
        self.tick = tick
        self.python = python
        self.manage_py = manage_py or Path(settings.BASE_DIR) / "manage.py"
        self.clock = clock

        self.child: Child | None = None
        self.exit_code = 0
        self.idle_reason = ""  # set when the child ended for good (logged out...): no restart until asked
        self.starts = 0
        self.consecutive = 0  # restarts since the last healthy child
        self.cluster: Any = None
        self._stop = threading.Event()
        self._hurry = threading.Event()
        self._signals = 0
        self._next_start: float | None = None
        self._next_control = 0.0
        self._restart_attempt: Any = None  # the ReconnectEvent of the restart in progress
        self._stop_asked_at: float | None = None  # SHUTDOWN_GRACE counts from the signal
        component_set("supervisor")
        self.watch = outage_watch()
        self.buffer = write_buffer()
        self._beat_unwritten: Any = None  # the newest beat, for the status row (written off the reader thread)
        self._db_thread: threading.Thread | None = None
        self._totals = {"messages_in": 0, "messages_out": 0}
        self._child_totals = {"messages_in": 0, "messages_out": 0}
        self.planned_restart: Any = None  # bot.supervisor.planned_restart.PlannedRestart, once running
        self.webhooks: Any = None  # bot.webhooks.WebhookSender when CONNECTION_WEBHOOK_URL is set
        if settings.CONNECTION_WEBHOOK_URL:
            from bot.webhooks import WebhookSender

            self.webhooks = WebhookSender()

    # -- signals --------------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)

    def on_signal(self, signum: int, frame: Any = None) -> None:
        """First signal: graceful stop. Any further one: hurry (kill the child now), backup still completes."""
        self._signals += 1
        if self._signals > 1:
            self._hurry.set()
        self.request_stop()

    def request_stop(self) -> None:
        if self._stop_asked_at is None:
            self._stop_asked_at = self.clock()
        self._stop.set()

    # -- main loop ------------------------------------------------------------------------------------
    def run(self) -> int:
        logger.info(
            "supervisor starting",
            extra={"session": self.session_name, "transport": self.transport, "pid": os.getpid()},
        )
        try:
            self.warm_spawn()  # it imports while we wait for the lease (and while the restore chain runs)
            if not self.ownership.acquire(self._stop):
                logger.info("stopped while standing by", extra={"session": self.session_name})
                return 0
            # Only the owner says who runs the session: a standby must not overwrite the holder's pid.
            self.watch.call(lambda: events.bot_status_process_started(session_name=self.session_name, pid=os.getpid()))
            # A killed predecessor's attempts would stay "pending" for good.
            self.watch.call(
                lambda: events.reconnect_events_close_left(session_name=self.session_name, reason="process_restarted")
            )
            self.start_db_writer()
            temp_sweep_at_start()
            if self.uses_session and not self._stop.is_set():
                self.restore()
            if self.scheduler and not self._stop.is_set():
                self.start_scheduler()
            self._next_start = self.clock()
            self.planned_restart = self.planned_restarts()
            while not self._stop.is_set():
                try:
                    self.step()
                except Exception as exc:  # one bad pass must not end the worker
                    if is_outage(exc):
                        self.watch.failed(exc)  # one warning per outage, no trace
                    else:
                        logger.exception("supervisor step failed", extra={"session": self.session_name})
                        drop_connection()
                    self._stop.wait(1.0)
                self._stop.wait(self.tick)
        except Exception:
            logger.exception("supervisor loop failed; shutting down", extra={"session": self.session_name})
            self.exit_code = 1
        finally:
            self.shutdown()
        return self.exit_code

    def step(self) -> None:
        """One pass of the loop: lease, child start/exit/hang, control requests."""
        now = self.clock()
        if not self.ownership.keep():
            self.on_lease_lost()
            return
        self.fence_child()
        if self.child is None:
            if not self.idle_reason and self._next_start is not None and now >= self._next_start:
                self.start_child()
        else:
            code = self.child.process.poll()
            if code is not None:
                self.on_child_exit(code)
            else:
                self.check_hung(now)
        # While the database is away the control table and the planned restart wait; the
        # database writer thread probes it and says when it is back.
        if now >= self._next_control and not self.watch.down:
            self._next_control = now + self.control_interval
            self.poll_control()
            self.check_planned_restart()

    def planned_restarts(self) -> Any:
        """``PLANNED_RESTART_AT``: a graceful restart at a quiet hour (the dyno through Heroku's API, else the child)."""
        return PlannedRestart(started_at=timezone.now())

    def check_planned_restart(self) -> None:
        if self.planned_restart is None or not self.planned_restart.due(timezone.now()):
            return
        try:
            result = planned_restart_perform(now=timezone.now(), session_name=self.session_name)
        except Exception:
            logger.exception("planned restart failed; restarting the child", extra={"session": self.session_name})
            self.restart_child("planned_restart")
            return
        if result.restart_child:
            self.restart_child("planned_restart")
        # else: Heroku restarts the dyno and sends SIGTERM; the usual graceful shutdown runs.

    def fence_child(self) -> None:
        """Hand the child the deadline of the lease as renewed just now (unchanged fences are not resent)."""
        child = self.child
        fence = self.ownership.fence()
        if child is not None and child.fence is not None and fence is not None:
            child.fence.send(fence)

    def on_child_exit(self, code: int) -> None:
        child = self.child
        if child is None:
            return
        self.child = None
        if child.fence is not None:
            child.fence.close()
        child.reader.join(1.0)
        self._totals = {k: self._totals[k] + self._child_totals.get(k, 0) for k in self._totals}
        self._child_totals = {"messages_in": 0, "messages_out": 0}
        ran_for = self.clock() - child.started
        extra = {"session": self.session_name, "child_pid": child.pid, "exit_code": code, "ran_for": round(ran_for, 1)}
        facts = ExitFacts(
            code=code,
            kill_reason=child.kill_reason,
            planned=child.planned,
            stopping=self._stop.is_set(),
            uses_session=self.uses_session,
            run_once=self.run_once,
            database_down=self.watch.down,
        )
        # Its attempt rows it could not close (killed mid-attempt) are closed for it, after its
        # buffered writes if any are waiting.
        self.buffer.submit(
            "child_attempts",
            lambda: events.reconnect_events_close_left(
                session_name=self.session_name, reason="child_exited", child_pid=child.pid
            ),
        )
        decision = decide_exit(facts)
        self.deaf_exit(code)
        verdict = decision.verdict
        if decision.exit_code is not None:
            self.exit_code = decision.exit_code
        if verdict == Verdict.STOPPED:
            logger.info("bot child stopped", extra=extra)
        elif verdict == Verdict.RESTART_NOW:
            logger.info("bot child restarted on purpose", extra={**extra, "reason": child.kill_reason})
            self._next_start = self.clock()
        elif verdict == Verdict.FINISHED:
            logger.info("bot child finished", extra=extra)
            self._stop.set()
        elif verdict == Verdict.IDLE:
            self.idle_reason = child.state or "terminal"
            level, line = idle_line(child.state)
            logger.log(level, line, extra={**extra, "state": child.state, "pairing_page": pairing_page_url()})
            if self.run_once:
                self._stop.set()
        elif verdict == Verdict.CONFIRM_LOGOUT:
            self.logout_confirm_begin()
        elif verdict == Verdict.USAGE:
            logger.error("bot child refused its arguments; not restarting", extra=extra)
            self._stop.set()
        elif verdict == Verdict.ONCE_ENDED:
            self._close_restart_attempt("failed")
            logger.info("bot child ended; --run-once: not restarting", extra={**extra, "reason": decision.reason})
            self._stop.set()
        else:
            self._close_restart_attempt("failed")
            self.schedule_restart(decision.reason, ran_for=ran_for, extra=extra, budgeted=decision.budgeted)

    def schedule_restart(self, reason: str, *, ran_for: float, extra: dict[str, Any], budgeted: bool = True) -> None:
        if ran_for >= HEALTHY_AFTER:
            self.consecutive = 0
        if budgeted and not self.budget.allow():
            logger.error(
                f"crash loop: the bot child died {self.budget.limit} times within {int(self.budget.window)} s "
                "(see the lines above); giving up so the host can restart the worker",
                extra={**extra, "reason": reason, "restarts": self.budget.used},
            )
            self._record_restart_attempt(reason, 0.0, outcome=ReconnectEvent.Outcome.GAVE_UP)
            self.record(State.STOPPED, "restart_budget_spent", {"last_reason": reason})
            self.exit_code = 1
            self._stop.set()
            return
        self.consecutive += 1
        delay = self.backoff.delay(self.consecutive)
        logger.warning(
            "restarting the bot child",
            extra={**extra, "reason": reason, "delay": round(delay, 3), "restart": self.consecutive},
        )
        self.record(State.STARTING, reason, {"exit_code": extra.get("exit_code"), "delay": round(delay, 3)})
        self._record_restart_attempt(reason, delay)
        if reason == "reconnect_exhausted":
            self.restore()  # re-checks the store: still paired -> same session, unpaired -> a new QR
        self._next_start = self.clock() + delay

    def _record_restart_attempt(self, reason: str, delay: float, outcome: str = "") -> None:
        self.count_reconnect(f"child_{reason}")
        try:  # an outage only delays these writes (bot.events buffers them)
            event = events.reconnect_event_open(
                session_name=self.session_name,
                attempt=max(1, self.consecutive),
                delay_seconds=delay,
                reason=f"child_{reason}",
            )
            if outcome:
                events.reconnect_event_close(event=event, outcome=outcome)
            else:
                self._restart_attempt = event
        except Exception:
            logger.exception("recording a restart failed")

    def _close_restart_attempt(self, outcome: str) -> None:
        attempt, self._restart_attempt = self._restart_attempt, None
        if attempt is not None:
            try:
                events.reconnect_event_close(event=attempt, outcome=outcome)
            except Exception:
                logger.exception("closing a restart attempt failed")

    def restart_child(self, reason: str) -> str:
        """A planned restart (operator, planned restart, fresh QR): graceful, no budget, no back-off."""
        self.idle_reason = ""
        child = self.child
        if child is None:
            self._next_start = self.clock()
            return f"child starting ({reason})"
        child.planned = True
        child.kill_reason = reason
        self.record(State.STARTING, reason)
        self.terminate_child(grace=self.child_stop_grace)
        return f"child restarted ({reason})"

    @property
    def child_stop_grace(self) -> float:
        return max(1.0, self.shutdown_grace - BACKUP_RESERVE_SECONDS - 1.0)

    def on_lease_lost(self) -> None:
        """Someone else may own the session now: stop our child at once, then stand by again."""
        detail = None
        if self.child is not None:
            self.child.planned = True
            self.child.kill_reason = "lease_lost"
            detail = {"pid": self.child.pid}  # the child's own end of its connected interval: we killed it
            self.terminate_child(grace=1.0)  # with the lease gone this is a SIGKILL at once
        self.record(State.STOPPED, "lease_lost", detail)
        self.warm_spawn()
        if self.ownership.acquire(self._stop) and not self._stop.is_set():
            if self.uses_session:
                self.restore()
            self._next_start = self.clock()

    # -- scheduler --------------------------------------------------------------------------------------
    def start_scheduler(self) -> None:
        """The django-q2 cluster (scheduled backups, retention) runs beside the bot in this dyno."""
        self.cluster = scheduler_start(install_signal_handlers=self.install_signal_handlers)
        logger.info("scheduler started", extra={"session": self.session_name})

    def stop_scheduler(self, timeout: float) -> None:
        cluster, self.cluster = self.cluster, None
        scheduler_stop(cluster, timeout=timeout)
