"""The supervisor's shutdown: child first (it drains), then the status, the lease and the final backup.

A mixin of :class:`bot.supervisor.loop.Supervisor` (the ``runbot`` parent). ``SHUTDOWN_GRACE``
counts from the signal, and nothing on this path may outlive it whatever the database does
(Heroku SIGKILLs 30 s after SIGTERM): the database steps run on a thread of their own under a
``db_deadline`` and the supervisor leaves when the grace is up, saying which step did not finish.
While the database is known to be away they are skipped at once (the lease then lapses by itself).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable

from bot import events
from bot.models import ConnectionState as State

logger = logging.getLogger(__name__)

BACKUP_RESERVE_SECONDS = 6.0  # of SHUTDOWN_GRACE kept for the final backup and the release
EXIT_MARGIN = 2.0  # seconds of the grace kept for the scheduler's stop and the interpreter's exit


class Stopping:
    """Needs the attributes :class:`bot.supervisor.loop.Supervisor` sets."""

    def _database_steps(
        self, owned: bool, *, shared_store: bool | None = None
    ) -> list[tuple[str, Callable[[], object]]]:
        """The shutdown's database writes, in order.

        Where the live store is shared (PostgreSQL: every worker reads the same schema) the standby
        needs no backup to go on, so the lease goes first and the final backup after it: the bot is
        away for the handover, not for the backup. With SQLite (a file per machine) the standby can
        only restore what was backed up, so the backup is visible before the lease is given up.
        """
        if shared_store is None:
            from sessions_store.store import database_is_postgres

            shared_store = database_is_postgres()
        backup = self.uses_session and self.ownership.held and self.starts > 0
        steps: list[tuple[str, Callable[[], object]]] = [("buffered_writes", self.buffer.drain)]
        if owned:
            steps.append(("last_beat", self.write_heartbeat))  # the child's last beat, not one from a second ago
            steps.append(
                ("status", lambda: self.record(State.STOPPED, "shutdown" if self.exit_code == 0 else "gave_up"))
            )
            steps.append(("status", lambda: events.bot_status_stopped(session_name=self.session_name)))
        if backup and not shared_store:
            steps.append(("final_backup", lambda: self.backup("shutdown")))
        steps.append(("lease_release", self.ownership.release))
        if backup and shared_store:
            steps.append(("final_backup", lambda: self.backup("shutdown")))
        steps.append(("buffered_writes", self.buffer.drain))
        return steps

    def _run_database_steps(self, steps: list[tuple[str, Callable[[], object]]], *, deadline: float) -> str:
        """Run ``steps`` in order before ``deadline`` (monotonic); returns the one left unfinished, or ""."""
        from blacksky_site.db_deadline import db_deadline
        from bot.db_buffer import drop_connection, is_outage

        current = {"step": ""}

        def run() -> None:
            try:
                with db_deadline(seconds=max(0.0, deadline - self.clock())):
                    for name, step in steps:
                        current["step"] = name
                        if self.watch.down:
                            return  # a step just found the database away: the rest would wait for it too
                        try:
                            step()
                        except Exception as exc:
                            if not is_outage(exc):
                                logger.exception(
                                    "shutdown step failed", extra={"session": self.session_name, "step": name}
                                )
                            else:
                                self.watch.failed(exc)
                                return  # the rest needs the database too
                current["step"] = ""
            finally:
                drop_connection()

        thread = threading.Thread(target=run, name="shutdown-db", daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - self.clock()))
        return current["step"] if thread.is_alive() or current["step"] else ""

    def shutdown(self) -> None:
        """Child first (it drains), then the final backup, the lease, the scheduler: all within the grace."""
        begun = self.clock()
        asked = self._stop_asked_at if self._stop_asked_at is not None else begun
        deadline = asked + self.shutdown_grace - EXIT_MARGIN
        logger.info("supervisor stopping", extra={"session": self.session_name, "grace": self.shutdown_grace})
        owned = self.ownership.held  # a standby, or a holder that lost the lease, leaves the status to the owner
        self.buffer.defer = True  # from here on only the bounded thread below talks to the database
        self.warm_discard("stopping")  # a standby's waiting child: it never touched the session
        if self.child is not None:
            grace = min(self.child_stop_grace, deadline - self.clock() - BACKUP_RESERVE_SECONDS)
            self.terminate_child(grace=max(1.0, grace), hurry=self._hurry)
        self._close_restart_attempt("gave_up")
        unfinished = "database_unreachable"
        if not self.watch.down:
            # the scheduler's own stop needs a moment too
            unfinished = self._run_database_steps(self._database_steps(owned), deadline=deadline - 1.0)
        if unfinished:
            logger.warning(
                "shutdown: the database did not answer; leaving without it (the lease lapses by itself)",
                extra={"session": self.session_name, "step": unfinished, "unwritten": self.buffer.pending},
            )
        self.stop_scheduler(timeout=max(0.5, deadline - self.clock() - 0.5))
        if self.webhooks is not None:
            self.webhooks.close(timeout=max(0.5, min(3.0, deadline - self.clock())))
        logger.info(
            "supervisor stopped",
            extra={
                "session": self.session_name,
                "exit_code": self.exit_code,
                "seconds": round(self.clock() - begun, 3),
                "unwritten": self.buffer.pending,
                "lost": self.buffer.lost,
                "neonize_loaded": "neonize" in sys.modules,
            },
        )
