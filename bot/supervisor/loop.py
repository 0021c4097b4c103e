"""The ``runbot`` parent: owns the session, starts and watches the bot child, shuts down cleanly.

It never imports neonize (a process that imported it must never fork, and neonize's ``connect()``
can hang where only SIGKILL helps), so everything Go-related lives in the child, a fresh
``python manage.py runbot --child`` subprocess. The supervisor:

1. takes the session's lease (hot standby while someone else holds it) before touching the session;
2. runs the restore chain (live store -> newest verified backup -> env vars -> pair anew);
3. starts the django-q2 cluster (unless ``--no-scheduler``) and the child;
4. loops: reads heartbeats, kills a hung child (SIGTERM, then SIGKILL), restarts a dead one with
   back-off inside a restart budget, renews the lease (losing it stops the child at once), and runs
   the operators' control requests;
5. on SIGTERM/SIGINT: stops the child (which drains its handlers), takes the final backup
   (``reason=shutdown``), releases the lease and exits 0 within ``SHUTDOWN_GRACE``. A second signal
   kills the child at once but still lets the backup finish: a backup is never left half-written.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from bot import events
from bot.child.connection import BackoffPolicy
from bot.heartbeat import Beat, BeatReader, ChildExit
from bot.models import BotStatus, ControlCommand, ReconnectEvent
from bot.models import ConnectionState as State
from bot.child.memory import RestartBudget

logger = logging.getLogger(__name__)

SESSION_TRANSPORTS = frozenset({"neonize"})  # transports that use the WhatsApp session
BACKUP_RESERVE_SECONDS = 6.0  # of SHUTDOWN_GRACE kept for the final backup and the release
RESTART_WINDOW = 600.0  # CHILD_RESTART_LIMIT automatic child restarts allowed within this many seconds
HEALTHY_AFTER = 120.0  # a child that ran this long without dying resets the restart back-off


class Ownership(Protocol):
    """Who may touch the session (issue 5's lease): taken first, kept from the loop, released last."""

    def acquire(self, stop: threading.Event) -> bool: ...

    def keep(self) -> bool: ...

    def release(self) -> None: ...

    @property
    def held(self) -> bool: ...


class NoOwnership:
    """For transports that never touch a WhatsApp session (console, test doubles)."""

    held = True

    def acquire(self, stop: threading.Event) -> bool:
        return True

    def keep(self) -> bool:
        return True

    def release(self) -> None:
        return None


class LeaseOwnership:
    """The session lease of ``sessions_store.lease``: standby until taken, renewed by compare-and-set."""

    def __init__(self, *, session_name: str, ttl: float) -> None:
        self.session_name = session_name
        self.ttl = ttl
        self.lease: Any = None
        self.keeper: Any = None

    @property
    def held(self) -> bool:
        return self.keeper is not None and self.keeper.held

    def acquire(self, stop: threading.Event) -> bool:
        from sessions_store.lease import lease_identity, lease_wait

        lease = lease_wait(session_name=self.session_name, ttl=self.ttl, wait=stop.wait, **lease_identity())
        if lease is None:
            return False
        self.hold(lease)
        return True

    def hold(self, lease: Any) -> None:
        """Keep ``lease`` (already taken) from now on: renewed every third of the TTL by the loop."""
        from sessions_store.lease import LeaseKeeper

        self.lease = lease
        interval = max(1.0, min(10.0, self.ttl / 3))
        self.keeper = LeaseKeeper(lease=lease, on_lost=lambda reason: None, interval=interval)

    def keep(self) -> bool:
        return self.keeper is None or self.keeper.step()

    def release(self) -> None:
        if self.lease is None or not self.held:
            return
        from sessions_store.lease import lease_release

        try:
            lease_release(lease=self.lease)
        except Exception:
            logger.exception("lease release failed", extra={"session": self.session_name})
        self.keeper = None


def ownership_for(*, session_name: str, transport: str) -> Ownership:
    if transport not in SESSION_TRANSPORTS:
        return NoOwnership()
    return LeaseOwnership(session_name=session_name, ttl=settings.LEASE_TTL)


def temp_sweep_at_start() -> None:
    """A crashed predecessor's temp files go before anything new is written (hourly after that)."""
    from blacksky_site.tempfiles import temp_sweep

    try:
        temp_sweep()
    except OSError:
        logger.exception("temp sweep failed")


def pairing_page_url() -> str:
    """Where an operator pairs from a browser: the Heroku app's URL, else the local web app."""
    app = settings.HEROKU_APP_NAME
    if app:
        return f"https://{app}.herokuapp.com/pair/"
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/pair/"


class Child:
    """One running bot child and its heartbeat pipe."""

    def __init__(self, process: subprocess.Popen, reader: BeatReader, started: float) -> None:
        self.process = process
        self.reader = reader
        self.started = started
        self.kill_reason = ""  # why we stopped it, when we did
        self.planned = False  # a restart we asked for (control action): no budget, no back-off
        self.state = ""

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
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
        self._restart_attempt: int | None = None  # ReconnectEvent id of the restart in progress
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
        self._stop.set()

    def request_stop(self) -> None:
        self._stop.set()

    # -- main loop ------------------------------------------------------------------------------------
    def run(self) -> int:
        logger.info(
            "supervisor starting",
            extra={"session": self.session_name, "transport": self.transport, "pid": os.getpid()},
        )
        try:
            if not self.ownership.acquire(self._stop):
                logger.info("stopped while standing by", extra={"session": self.session_name})
                return 0
            # Only the owner says who runs the session: a standby must not overwrite the holder's pid.
            events.bot_status_process_started(session_name=self.session_name, pid=os.getpid())
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
                except Exception:  # one bad pass (a database blip) must not end the worker
                    logger.exception("supervisor step failed", extra={"session": self.session_name})
                    close_old_connections()
                    self._stop.wait(1.0)  # no log flood while the database is away
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
        if self.child is None:
            if not self.idle_reason and self._next_start is not None and now >= self._next_start:
                self.start_child()
        else:
            code = self.child.process.poll()
            if code is not None:
                self.on_child_exit(code)
            else:
                self.check_hung(now)
        if now >= self._next_control:
            self._next_control = now + self.control_interval
            self.poll_control()
            self.check_planned_restart()

    def planned_restarts(self) -> Any:
        """``PLANNED_RESTART_AT``: a graceful restart at a quiet hour (the dyno through Heroku's API, else the child)."""
        try:
            from bot.supervisor.planned_restart import PlannedRestart
        except ImportError:
            return None
        return PlannedRestart(started_at=timezone.now())

    def check_planned_restart(self) -> None:
        if self.planned_restart is None or not self.planned_restart.due(timezone.now()):
            return
        try:
            from bot.supervisor.planned_restart import planned_restart_perform

            result = planned_restart_perform(now=timezone.now(), session_name=self.session_name)
        except Exception:
            logger.exception("planned restart failed; restarting the child", extra={"session": self.session_name})
            self.restart_child("planned_restart")
            return
        if result.restart_child:
            self.restart_child("planned_restart")
        # else: Heroku restarts the dyno and sends SIGTERM; the usual graceful shutdown runs.

    # -- the session ------------------------------------------------------------------------------------
    def record(self, to_state: State, reason: str, detail: dict[str, Any] | None = None) -> None:
        try:
            status = BotStatus.objects.filter(session_name=self.session_name).values_list("state", flat=True)
            previous = status.first() or State.STARTING
            if previous == to_state:
                return
            event = events.connection_event_record(
                session_name=self.session_name, from_state=previous, to_state=to_state, reason=reason, detail=detail
            )
            if self.webhooks is not None:
                self.webhooks.notify(
                    session_name=self.session_name, from_state=previous, to_state=to_state, reason=reason, at=event.at
                )
        except Exception:
            logger.exception("recording a supervisor event failed", extra={"session": self.session_name})

    def alert(self, reason: str, detail: str) -> None:
        """An operator alert that is not a state change (a full disk): the webhook and one log line."""
        logger.error("alert", extra={"session": self.session_name, "reason": reason, "detail": detail})
        if self.webhooks is not None:
            state = BotStatus.objects.filter(session_name=self.session_name).values_list("state", flat=True).first()
            state = state or State.STARTING
            self.webhooks.notify(
                session_name=self.session_name, from_state=state, to_state=state, reason=reason, at=timezone.now()
            )

    def restore(self, *, force: bool = False, backup_id: int | None = None) -> Any:
        """The restore chain of the sessions app; a network outage never reaches here, so nothing paired is lost."""
        self.record(State.RESTORING, "restore_chain")
        try:
            from sessions_store.services import session_restore_chain
        except ImportError:
            logger.warning("restore chain not available yet; using the live store as it is")
            return None
        try:
            outcome = session_restore_chain(session_name=self.session_name, force=force, backup_id=backup_id)
        except Exception as exc:
            from blacksky_site.tempfiles import is_disk_full

            if is_disk_full(exc):
                # Pairing anew on a disk that cannot hold the restored store would orphan every backup:
                # alert and stop, so the host restarts the worker (on Heroku, with a fresh disk).
                self.alert("disk_full", str(exc))
                self.exit_code = 1
                self._stop.set()
                return None
            logger.exception("restore chain failed; starting with the live store", extra={"session": self.session_name})
            return None
        logger.info(
            "session restore",
            extra={
                "session": self.session_name,
                "source": getattr(outcome, "source", ""),
                "needs_pairing": getattr(outcome, "needs_pairing", None),
                "detail": getattr(outcome, "detail", ""),
            },
        )
        if getattr(outcome, "needs_pairing", False):
            print(
                f"No paired WhatsApp session '{self.session_name}': scan the QR code the bot prints below, "
                f"or open the pairing page {pairing_page_url()} (staff login).",
                file=sys.stderr if self.transport == "console" else sys.stdout,
                flush=True,
            )
        return outcome

    def backup(self, reason: str) -> str:
        try:
            from sessions_store.services import backup_create
        except ImportError:
            logger.warning("backups not available yet", extra={"reason": reason})
            return "backups not available"
        try:
            backup = backup_create(session_name=self.session_name, reason=reason)
        except Exception as exc:
            from blacksky_site.tempfiles import is_disk_full

            if is_disk_full(exc):
                self.alert("disk_full", str(exc))
            raise
        if backup is None:
            return "nothing to back up"
        logger.info("session backed up", extra={"session": self.session_name, "reason": reason, "backup": backup.pk})
        return f"backup {backup.pk} written"

    # -- the child ----------------------------------------------------------------------------------------
    def child_command(self, fd: int) -> list[str]:
        argv = [
            self.python,
            str(self.manage_py),
            "runbot",
            "--child",
            "--skip-checks",  # the supervisor ran them; the child's lean app list has no admin URLs to check
            "--session",
            self.session_name,
            "--transport",
            self.transport,
            "--heartbeat-fd",
            str(fd),
            "--heartbeat-interval",
            str(self.heartbeat_interval),
        ]
        if self.pair_phone:
            argv += ["--pair-phone", self.pair_phone]
        return argv

    @property
    def heartbeat_interval(self) -> float:
        return round(max(0.2, min(5.0, self.heartbeat_timeout / 4)), 3)

    def start_child(self) -> Child:
        read_fd, write_fd = os.pipe()
        try:
            process = subprocess.Popen(
                self.child_command(write_fd),
                pass_fds=(write_fd,),
                close_fds=True,
                env={**os.environ, "BLACKSKY_PROCESS": "bot-child"},  # the lean app list (settings.py)
            )
        finally:
            os.close(write_fd)
        reader = BeatReader(read_fd, on_beat=self.on_beat, clock=self.clock).start()
        self.child = Child(process, reader, self.clock())
        restarted = self.starts > 0
        self.starts += 1
        self._child_totals = {"messages_in": 0, "messages_out": 0}
        try:
            events.bot_status_child_started(
                session_name=self.session_name, child_pid=process.pid, restarted=restarted
            )
        except Exception:
            logger.exception("recording the child start failed")
        logger.info(
            "bot child started", extra={"session": self.session_name, "child_pid": process.pid, "start": self.starts}
        )
        return self.child

    def on_beat(self, beat: Beat) -> None:
        """Runs on the heartbeat reader thread: note the state, write BotStatus."""
        child = self.child
        if child is not None:
            child.state = beat.state
        if beat.state == State.CONNECTED and self._restart_attempt is not None:
            self._close_restart_attempt("succeeded")
        self._child_totals = {"messages_in": beat.messages_in, "messages_out": beat.messages_out}
        try:
            close_old_connections()
            events.bot_status_heartbeat(
                session_name=self.session_name,
                at=timezone.now(),
                child_pid=beat.pid,
                rss_bytes=beat.rss_bytes,
                messages_in=self._totals["messages_in"] + beat.messages_in,
                messages_out=self._totals["messages_out"] + beat.messages_out,
                detail={
                    "stalled_for": beat.stalled_for,
                    "memory_level": beat.memory_level,
                    "commands": beat.commands,
                    "errors": beat.errors,
                    **beat.detail,
                },
            )
        except Exception:
            logger.exception("recording a heartbeat failed", extra={"session": self.session_name})

    def check_hung(self, now: float) -> bool:
        """Beats stopped, or they say the child made no progress for longer than HEARTBEAT_TIMEOUT."""
        child = self.child
        if child is None:
            return False
        beat = child.reader.latest
        age = child.reader.age() if beat is not None else now - child.started
        limit = self.heartbeat_timeout if beat is not None else max(self.heartbeat_timeout, self.startup_grace)
        stalled = beat.stalled_for if beat is not None else 0.0
        if age <= limit and stalled <= self.heartbeat_timeout:
            return False
        logger.warning(
            "bot child hung; killing it",
            extra={
                "session": self.session_name,
                "child_pid": child.pid,
                "beat_age": round(age, 1),
                "stalled_for": stalled,
                "state": beat.state if beat else "-",
            },
        )
        if beat is not None and beat.state == State.PAIRING:
            # Nobody scanned the QR: neonize now sits in FetchMe forever. A fresh child shows a fresh QR;
            # waiting for a scan is not a crash, so it costs no restart budget.
            child.kill_reason = "qr_timeout"
            child.planned = True
            self.record(State.STARTING, "qr_timeout")
        else:
            child.kill_reason = "hung"
        self.terminate_child(grace=self.kill_grace)
        return True

    def terminate_child(self, *, grace: float, hurry: threading.Event | None = None) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds (less if ``hurry`` is set), then SIGKILL; returns the exit code."""
        child = self.child
        if child is None:
            return None
        process = child.process
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = self.clock() + grace
        while process.poll() is None and self.clock() < deadline:
            if hurry is not None and hurry.is_set():
                break
            time.sleep(0.02)
        if process.poll() is None:
            logger.warning("bot child did not stop in time; SIGKILL", extra={"child_pid": process.pid})
            process.kill()
        code = process.wait()
        self.on_child_exit(code)
        return code

    def on_child_exit(self, code: int) -> None:
        child = self.child
        if child is None:
            return
        self.child = None
        child.reader.join(1.0)
        self._totals = {k: self._totals[k] + self._child_totals.get(k, 0) for k in self._totals}
        self._child_totals = {"messages_in": 0, "messages_out": 0}
        ran_for = self.clock() - child.started
        extra = {"session": self.session_name, "child_pid": child.pid, "exit_code": code, "ran_for": round(ran_for, 1)}
        if self._stop.is_set() and not child.planned:
            logger.info("bot child stopped", extra=extra)
            return
        if child.planned:
            logger.info("bot child restarted on purpose", extra={**extra, "reason": child.kill_reason})
            self._next_start = self.clock()
            return
        if code == ChildExit.DONE and not child.kill_reason:
            if not self.uses_session:
                logger.info("bot child finished", extra=extra)
                self._stop.set()
                return
            reason = "exited"
        elif code == ChildExit.TERMINAL:
            self.idle_reason = child.state or "terminal"
            logger.error(
                "the WhatsApp connection ended for good (logged out, replaced or outdated); not restarting. "
                "Pair again from the pairing page or ask for a fresh QR.",
                extra={**extra, "state": child.state, "pairing_page": pairing_page_url()},
            )
            if self.run_once:
                self._stop.set()
            return
        elif code == ChildExit.USAGE:
            logger.error("bot child refused its arguments; not restarting", extra=extra)
            self.exit_code = ChildExit.USAGE
            self._stop.set()
            return
        elif code == ChildExit.FRESH:
            reason = "reconnect_exhausted"
        elif code == ChildExit.MEMORY:
            reason = "memory"
        else:
            reason = child.kill_reason or "crash"
        self._close_restart_attempt("failed")
        if self.run_once:
            logger.info("bot child ended; --run-once: not restarting", extra={**extra, "reason": reason})
            self.exit_code = 0 if code == 0 else 1
            self._stop.set()
            return
        self.schedule_restart(reason, ran_for=ran_for, extra=extra)

    def schedule_restart(self, reason: str, *, ran_for: float, extra: dict[str, Any]) -> None:
        if ran_for >= HEALTHY_AFTER:
            self.consecutive = 0
        # A child that used up its reconnect attempts did not crash: the network is away. It gets a
        # fresh child after a growing, capped delay for as long as the outage lasts; only crashes,
        # hangs and memory restarts spend the budget that stops a crash loop.
        budgeted = reason != "reconnect_exhausted"
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
        try:
            event = events.reconnect_event_open(
                session_name=self.session_name,
                attempt=max(1, self.consecutive),
                delay_seconds=delay,
                reason=f"child_{reason}",
            )
            if outcome:
                events.reconnect_event_close(event_id=event.pk, outcome=outcome)
            else:
                self._restart_attempt = event.pk
        except Exception:
            logger.exception("recording a restart failed")

    def _close_restart_attempt(self, outcome: str) -> None:
        attempt, self._restart_attempt = self._restart_attempt, None
        if attempt is not None:
            try:
                events.reconnect_event_close(event_id=attempt, outcome=outcome)
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
        if self.child is not None:
            self.child.planned = True
            self.child.kill_reason = "lease_lost"
            self.terminate_child(grace=1.0)
        self.record(State.STOPPED, "lease_lost")
        if self.ownership.acquire(self._stop) and not self._stop.is_set():
            if self.uses_session:
                self.restore()
            self._next_start = self.clock()

    # -- operators' requests (issue 8: control table) -------------------------------------------------------
    def control_actions(self) -> dict[str, Callable[[ControlCommand], str]]:
        return {
            "backup": lambda command: self.backup("manual"),
            "verify": lambda command: self._verify(),
            "restore": self._control_restore,
            "reconnect": lambda command: self.restart_child("reconnect_requested"),
            "restart": lambda command: self.restart_child("restart_requested"),
            "refresh_qr": lambda command: self.restart_child("refresh_qr"),
        }

    def _verify(self) -> str:
        from sessions_store.services import backups_verify

        return str(backups_verify(session_name=self.session_name))

    def _control_restore(self, command: ControlCommand) -> str:
        backup_id = (command.args or {}).get("backup_id")
        child = self.child
        if child is not None:
            child.planned = True
            child.kill_reason = "restore_requested"
            self.terminate_child(grace=self.child_stop_grace)
        outcome = self.restore(force=True, backup_id=backup_id)
        self.idle_reason = ""
        self._next_start = self.clock()
        return f"restored from {getattr(outcome, 'source', 'nothing')}: {getattr(outcome, 'detail', '')}".strip()

    def poll_control(self) -> int:
        try:
            from bot.control import control_run_pending
        except ImportError:
            return 0
        try:
            return control_run_pending(session_name=self.session_name, actions=self.control_actions())
        except Exception:
            logger.exception("polling the control table failed", extra={"session": self.session_name})
            return 0

    # -- scheduler --------------------------------------------------------------------------------------
    def start_scheduler(self) -> None:
        """The django-q2 cluster (scheduled backups, retention) runs beside the bot in this dyno."""
        self.cluster = scheduler_start(install_signal_handlers=self.install_signal_handlers)
        logger.info("scheduler started", extra={"session": self.session_name})

    def stop_scheduler(self, timeout: float) -> None:
        cluster, self.cluster = self.cluster, None
        scheduler_stop(cluster, timeout=timeout)

    # -- shutdown ---------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Child first (it drains), then the final backup, the lease, the scheduler: all within the grace."""
        begun = self.clock()
        deadline = begun + self.shutdown_grace
        logger.info("supervisor stopping", extra={"session": self.session_name, "grace": self.shutdown_grace})
        owned = self.ownership.held  # a standby, or a holder that lost the lease, leaves the status to the owner
        if self.child is not None:
            self.terminate_child(grace=self.child_stop_grace, hurry=self._hurry)
        self._close_restart_attempt("gave_up")
        if self.uses_session and self.ownership.held and self.starts > 0:
            try:
                self.backup("shutdown")  # never interrupted: a second signal only hurried the child
            except Exception:
                logger.exception("final backup failed", extra={"session": self.session_name})
        self.ownership.release()
        self.stop_scheduler(timeout=max(0.5, deadline - self.clock() - 0.5))
        if owned:
            self.record(State.STOPPED, "shutdown" if self.exit_code == 0 else "gave_up")
        if self.webhooks is not None:
            self.webhooks.close(timeout=max(0.5, min(3.0, deadline - self.clock())))
        try:
            if owned:
                events.bot_status_stopped(session_name=self.session_name)
        except Exception:
            logger.exception("recording the stop failed")
        logger.info(
            "supervisor stopped",
            extra={
                "session": self.session_name,
                "exit_code": self.exit_code,
                "seconds": round(self.clock() - begun, 3),
                "neonize_loaded": "neonize" in sys.modules,
            },
        )


def scheduler_start(*, install_signal_handlers: Callable[[], None]) -> Any:
    """Start a django-q2 cluster in this process (one per worker); it forks, so call it before any thread."""
    from django_q.cluster import Cluster

    connection.close()  # the cluster forks: no shared database socket
    cluster = Cluster()
    install_signal_handlers()  # Cluster() installed its own
    cluster.start()
    return cluster


def scheduler_stop(cluster: Any, *, timeout: float) -> None:
    """Stop a cluster from :func:`scheduler_start` within ``timeout`` seconds, terminating it if it hangs."""
    if cluster is None:
        return
    stopper = threading.Thread(target=cluster.stop, name="scheduler-stop", daemon=True)
    stopper.start()
    stopper.join(max(0.5, timeout))
    if stopper.is_alive() and cluster.sentinel is not None and cluster.sentinel.is_alive():
        logger.warning("scheduler did not stop in time; terminating it")
        cluster.sentinel.terminate()
