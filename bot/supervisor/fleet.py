"""``runbot --all``: one worker process runs every WhatsApp session it can lease, each in its own bot child.

Design: one :class:`~bot.supervisor.Supervisor` per session, each on its own thread of this process.
A session's supervisor keeps everything it does for ``runbot --session NAME`` (lease renewal, restore
chain, child, heartbeats, restarts and budget, control requests, final backup and release), unchanged;
the fleet only decides which sessions this worker runs. Threads rather than one process per session
because a Django process per session costs ~60 MB on a 512 MB dyno, and the supervisor mostly waits;
the bot children stay separate processes as before (neonize is never loaded here).

The fleet's own loop (main thread, which also receives the signals):

- every few seconds (a third of ``LEASE_TTL``, at most 5 s, right after a lease it saw expires, and
  as soon as a look at the rows, every 0.2 s, finds one released) it takes one more free or expired
  lease among the sessions it does not run
  (:func:`sessions_store.lease.lease_acquire_any`: PostgreSQL ``SKIP LOCKED``, compare-and-set
  everywhere), so several workers share the sessions and take over from one that dies;
- a supervisor that loses its lease ends (another worker owns the session now); one that gave up
  (crash loop) releases its lease and this worker leaves the session alone for ``cooldown``
  seconds, so another worker may try it;
- one django-q2 cluster per worker (started before any thread: it forks);
- a planned restart (``PLANNED_RESTART_AT``) of the dyno is asked of Heroku once per worker, not once
  per session; without Heroku each session restarts its own child;
- SIGTERM/SIGINT is passed to every supervisor: they stop their children and take their final
  backups in parallel, all within ``SHUTDOWN_GRACE``; a second signal hurries them the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from bot.heartbeat import ChildExit
from bot.supervisor.loop import RESTART_WINDOW, Supervisor
from bot.supervisor.ownership import LeaseOwnership
from bot.supervisor.scheduler import scheduler_start, scheduler_stop

logger = logging.getLogger(__name__)

SPREAD_SECONDS = 0.5  # pause after taking a lease, so workers starting together share the sessions


class HeldLease(LeaseOwnership):
    """A lease the fleet already took: handed to the session's supervisor, which keeps it.

    Once lost it is not waited for again: the supervisor stops (``acquire`` sets its stop event) and
    the fleet leases the session again later if it comes free.
    """

    def __init__(self, *, lease: Any, ttl: float) -> None:
        super().__init__(session_name=lease.session_name, ttl=ttl)
        self._given: Any = lease

    def acquire(self, stop: threading.Event) -> bool:
        lease, self._given = self._given, None
        if lease is None:
            stop.set()
            return False
        self.hold(lease)
        return True


class DynoRestartGate:
    """One planned dyno restart per worker: the first session due asks Heroku, the others wait for SIGTERM."""

    HOLD = timedelta(hours=1)  # a requested restart that never came does not block tomorrow's

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requested_at: datetime | None = None

    def pending(self, now: datetime) -> bool:
        return self.requested_at is not None and now - self.requested_at < self.HOLD


class FleetSupervisor(Supervisor):
    """A session's supervisor inside a fleet: the same, except the planned restart of the shared dyno."""

    def __init__(self, *, dyno_restart: DynoRestartGate, **options: Any) -> None:
        super().__init__(**options)
        self.dyno_restart = dyno_restart

    def check_planned_restart(self) -> None:
        now = timezone.now()
        if self.planned_restart is None or not self.planned_restart.due(now):
            return
        with self.dyno_restart.lock:
            if self.dyno_restart.pending(now):
                logger.info(
                    "planned restart: the dyno restart is already requested", extra={"session": self.session_name}
                )
                return
            try:
                from bot.supervisor.planned_restart import planned_restart_perform

                result = planned_restart_perform(now=now, session_name=self.session_name)
            except Exception:
                logger.exception("planned restart failed; restarting the child", extra={"session": self.session_name})
                result = None
            if result is not None and not result.restart_child:
                self.dyno_restart.requested_at = now
        if result is None or result.restart_child:
            self.restart_child("planned_restart")


@dataclass
class Running:
    """One session this worker runs: its supervisor, the thread running it, the exit code once done."""

    supervisor: Supervisor
    thread: threading.Thread
    code: int | None = None


class Fleet:
    """All the sessions this worker can lease; ``run()`` returns the process exit code."""

    def __init__(
        self,
        *,
        transport: str = "neonize",
        scheduler: bool = True,
        max_sessions: int = 0,
        ttl: float | None = None,
        poll: float | None = None,
        cooldown: float = RESTART_WINDOW,
        shutdown_grace: float | None = None,
        supervisor_factory: Callable[..., Supervisor] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.scheduler = scheduler
        self.max_sessions = max(0, max_sessions)
        self.ttl = float(ttl or settings.LEASE_TTL)
        self.poll = float(poll if poll is not None else max(0.2, min(self.ttl / 3, 5.0)))
        self.cooldown = cooldown
        self.shutdown_grace = float(shutdown_grace or settings.SHUTDOWN_GRACE)
        self.dyno_restart = DynoRestartGate()
        self.supervisor_factory = supervisor_factory or partial(FleetSupervisor, dyno_restart=self.dyno_restart)
        self.clock = clock
        self.running: dict[str, Running] = {}
        self.resting: dict[str, float] = {}  # session -> clock time until which this worker leaves it alone
        self.refused: set[str] = set()  # sessions sharing an older one's store, already said
        self.cluster: Any = None
        self.exit_code = 0
        self._stop = threading.Event()
        self._signals: list[int] = []
        self._standby_said: tuple[int, str] | None = None  # what the last "standing by" line said
        self.looking: list[str] = []  # sessions others hold that the last pass wanted

    # -- signals --------------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)

    def on_signal(self, signum: int, frame: Any = None) -> None:
        """Every signal goes to every supervisor: the first stops them gracefully, a second hurries them."""
        self._signals.append(signum)
        self._stop.set()
        for entry in list(self.running.values()):
            entry.supervisor.on_signal(signum)

    def request_stop(self) -> None:
        self._stop.set()

    # -- main loop ------------------------------------------------------------------------------------
    def run(self) -> int:
        logger.info(
            "fleet starting",
            extra={"transport": self.transport, "pid": os.getpid(), "ttl": self.ttl, "poll": self.poll},
        )
        try:
            if self.scheduler and not self._stop.is_set():
                self.cluster = scheduler_start(install_signal_handlers=self.install_signal_handlers)
                logger.info("scheduler started", extra={"scope": "worker"})
            while not self._stop.is_set():
                try:
                    close_old_connections()  # the main thread holds no transaction between passes
                    self.reap()
                    wait = self.lease_more()
                except Exception:  # a database blip: the supervisors carry on, try again shortly
                    logger.exception("fleet pass failed")
                    connection.close()
                    wait = self.poll
                self.wait_or_free(wait)
        except Exception:
            logger.exception("fleet loop failed; shutting down")
            self.exit_code = 1
        finally:
            self.shutdown()
        return self.exit_code

    def wanted(self) -> list[str]:
        """Sessions this worker could take now: every real session (no console trial), minus the ones it
        runs or rests."""
        from sessions_store.selectors import sessions_list

        now = self.clock()
        self.resting = {name: until for name, until in self.resting.items() if until > now}
        rows = sessions_list().filter(trial=False).values_list("name", "store_key")
        names = [name for name, key in rows if key is not None or self.store_claimed(name)]
        return [name for name in names if name not in self.running and name not in self.resting]

    def store_claimed(self, name: str) -> bool:
        """Whether a session without a store key yet (a row written by raw SQL, or from before keys) gets
        its key; one that shares its store with an older session is never run, said once."""
        from sessions_store.models import WhatsAppSession
        from sessions_store.store import SessionNameError

        try:
            WhatsAppSession.objects.named(name)
        except SessionNameError as exc:
            if name not in self.refused:
                self.refused.add(name)
                logger.warning("session not run: its store is another's", extra={"session": name, "reason": str(exc)})
            return False
        return True

    def lease_more(self) -> float:
        """Take at most one more lease; returns how long to wait before the next pass."""
        from sessions_store.lease import lease_acquire_any, lease_identity

        if self.max_sessions and len(self.running) >= self.max_sessions:
            return self.poll
        candidates = self.wanted()
        if not candidates:
            self.say_standby(candidates)
            return self.poll
        lease = lease_acquire_any(session_names=candidates, ttl=self.ttl, **lease_identity())
        if lease is None:
            self.say_standby(candidates)
            self.looking = candidates  # held by others: looked at until the next pass
            return self.next_wait(candidates)
        self._standby_said = None  # running something now: the next standby is news again
        self.start_session(lease)
        return SPREAD_SECONDS

    def wait_or_free(self, seconds: float) -> None:
        """The pause between passes, cut short once a look (a read every ``STANDBY_CHECK``) finds free a lease
        this worker wanted: a SIGTERMed owner releases at once, so its sessions move on within a look."""
        from django.db import DatabaseError

        from sessions_store.lease import lease_free_any
        from sessions_store.lease_keeper import STANDBY_CHECK

        looking, self.looking = self.looking, []
        waited = 0.0
        while waited < seconds:
            step = seconds - waited if not looking else min(STANDBY_CHECK, seconds - waited)
            if self._stop.wait(step):
                return
            waited += step
            try:
                if looking and lease_free_any(session_names=looking):
                    return
            except DatabaseError:  # the next pass says what is wrong; until then no more looks
                looking = []

    def say_standby(self, candidates: list[str]) -> None:
        """A worker that runs nothing says why, once at start and again whenever the holders change.

        Read-only on the lease rows: who holds each session this worker could not take.
        """
        from sessions_store.models import SessionLease

        if self.running:
            return
        rows = SessionLease.objects.filter(session__name__in=candidates, expires_at__gt=timezone.now()).exclude(
            holder=""
        )
        by_holder: dict[str, list[str]] = {}
        for name, host, pid in rows.values_list("session__name", "holder_host", "holder_pid").order_by("session__name"):
            by_holder.setdefault(f"{host}:{pid}", []).append(name)
        holders = ", ".join(f"{holder} ({', '.join(names)})" for holder, names in sorted(by_holder.items()))
        said = (len(candidates), holders)
        if said == self._standby_said:
            return
        self._standby_said = said
        if not candidates:
            logger.info("standing by: no session to run yet (add one in the admin, or pair one with runbot --session)")
        elif holders:
            count = len(candidates)
            what = f"all {count} sessions are" if count != 1 else "the 1 session is"
            logger.info(
                f"standing by: {what} held by {holders}",
                extra={"sessions": count, "holders": len(by_holder)},
            )
        else:  # free leases another worker took first, or rows just released: the next pass tries again
            logger.info("standing by: no session could be leased this pass", extra={"sessions": len(candidates)})

    def next_wait(self, candidates: list[str]) -> float:
        """Until the soonest lease among ``candidates`` expires (a dead worker's), at most ``poll``."""
        from sessions_store.lease import lease_db_now
        from sessions_store.models import SessionLease

        expiries = SessionLease.objects.filter(session__name__in=candidates, expires_at__isnull=False)
        soonest: datetime | None = min(expiries.values_list("expires_at", flat=True), default=None)
        if soonest is None:
            return self.poll
        until = (soonest - lease_db_now()).total_seconds() + 0.05  # the database's clock decides expiry
        return max(0.05, min(self.poll, until))

    def start_session(self, lease: Any) -> Running:
        name = lease.session_name
        supervisor = self.supervisor_factory(
            session_name=name,
            transport=self.transport,
            scheduler=False,  # the worker's one cluster serves every session
            uses_session=True,  # every leased session gets its restore chain and final backup
            ownership=HeldLease(lease=lease, ttl=self.ttl),
            shutdown_grace=self.shutdown_grace,
        )
        entry = Running(supervisor=supervisor, thread=threading.Thread(target=lambda: None))
        entry.thread = threading.Thread(target=self._run_session, args=(entry,), name=f"session-{name}", daemon=True)
        self.running[name] = entry
        if self._stop.is_set():  # a signal came in while the lease was being taken
            supervisor.request_stop()
        logger.info("fleet took a session", extra={"session": name, "fencing": lease.fencing, "sessions": self.names})
        entry.thread.start()
        return entry

    @staticmethod
    def _run_session(entry: Running) -> None:
        try:
            entry.code = entry.supervisor.run()
        except BaseException:
            logger.exception("session supervisor crashed", extra={"session": entry.supervisor.session_name})
            entry.code = 1
        finally:
            connection.close()  # this thread's own database connection

    def reap(self) -> None:
        """Forget the sessions whose supervisor ended; rest the ones that gave up."""
        for name, entry in list(self.running.items()):
            if entry.thread.is_alive():
                continue
            del self.running[name]
            code = entry.code if entry.code is not None else 1
            if code == ChildExit.USAGE:
                logger.error("the bot child refused its arguments; stopping the worker", extra={"session": name})
                self.exit_code = ChildExit.USAGE
                self._stop.set()
            elif code != 0:
                self.resting[name] = self.clock() + self.cooldown
                logger.error(
                    "session gave up; leaving it to other workers for a while",
                    extra={"session": name, "exit_code": code, "rest_seconds": self.cooldown},
                )
            else:
                logger.info("fleet let a session go", extra={"session": name, "sessions": self.names})

    @property
    def names(self) -> str:
        return ",".join(sorted(self.running)) or "-"

    # -- shutdown ---------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Every supervisor stops in parallel (children, final backups, leases), then the cluster."""
        begun = self.clock()
        deadline = begun + self.shutdown_grace
        logger.info("fleet stopping", extra={"sessions": self.names, "grace": self.shutdown_grace})
        for entry in list(self.running.values()):
            entry.supervisor.request_stop()
        for name, entry in list(self.running.items()):
            entry.thread.join(max(0.1, deadline - self.clock() - 0.5))
            if entry.thread.is_alive():
                logger.error("session did not stop within the grace", extra={"session": name})
            elif entry.code:
                self.exit_code = self.exit_code or entry.code
        scheduler_stop(self.cluster, timeout=max(0.5, deadline - self.clock() - 0.5))
        self.cluster = None
        logger.info(
            "fleet stopped",
            extra={"exit_code": self.exit_code, "seconds": round(self.clock() - begun, 3), "sessions": self.names},
        )
