"""``manage.py runbot``: the worker process (supervisor), and with ``--child`` the bot child it spawns.

Thin: parses options and hands over to :class:`bot.supervisor.loop.Supervisor`, the fleet of
``--all`` (:mod:`bot.supervisor.fleet`) or :func:`bot.child.main.child_run`. Only the child path
imports a transport that may load neonize.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

logger = logging.getLogger("bot.runbot")


def logs_to_stderr() -> None:
    """The console transport owns stdout (JSON lines): move every stdout log handler to stderr."""
    for name in [None, *logging.root.manager.loggerDict]:
        target = logging.getLogger(name)
        for handler in getattr(target, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream in {sys.stdout, sys.__stdout__}:
                handler.setStream(sys.stderr)


class Command(BaseCommand):
    help = "Run the WhatsApp bot: a supervisor that restores the session and watches a bot child."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--session", default="default", help="Session name (default: %(default)s).")
        parser.add_argument(
            "--all",
            action="store_true",
            help="Run every WhatsAppSession this worker can lease, each in its own bot child (see docs/deploy.md).",
        )
        parser.add_argument(
            "--max-sessions", type=int, default=0, help="With --all: lease at most this many sessions (0 = no limit)."
        )
        parser.add_argument(
            "--transport",
            default="neonize",
            help="neonize (WhatsApp), console (a chat in the terminal), or module:Class.",
        )
        parser.add_argument("--pair-phone", default="", help="Pair with a phone number (digits) instead of a QR code.")
        parser.add_argument("--no-scheduler", action="store_true", help="Do not run the django-q2 cluster here.")
        parser.add_argument("--run-once", action="store_true", help="Run the bot child once; do not restart it.")
        parser.add_argument("--child", action="store_true", help=argparse_hidden())
        parser.add_argument("--heartbeat-fd", type=int, default=None, help=argparse_hidden())
        parser.add_argument("--heartbeat-interval", type=float, default=5.0, help=argparse_hidden())
        parser.add_argument("--fence-fd", type=int, default=None, help=argparse_hidden())
        parser.add_argument("--fencing", type=int, default=None, help=argparse_hidden())
        parser.add_argument("--warm-fd", type=int, default=None, help=argparse_hidden())
        parser.add_argument("--no-deaf-restart", action="store_true", help=argparse_hidden())
        parser.add_argument("--confirm-logout", action="store_true", help=argparse_hidden())

    def wait_for_database(self, *, broker: bool) -> bool:
        """One line and a wait while the database is away at start (a crash would make the host back
        the dyno off); False when SIGTERM or Ctrl-C came first."""
        import signal
        import threading

        from blacksky_site.database_reach import broker_wait, database_wait

        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return database_wait(stop, what="worker") and (not broker or broker_wait(stop, what="worker"))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def check_session_name(self, name: str) -> None:
        """A new session's name maps to a store no other session uses, and an old session does not share
        one with an older session (from before store keys): one sentence if not."""
        from django.db import DatabaseError

        from sessions_store.models import WhatsAppSession
        from sessions_store.services import SessionStoreError, session_name_check
        from sessions_store.store import StoreError

        try:
            if WhatsAppSession.objects.filter(name=name).exists():
                WhatsAppSession.objects.named(name)  # claims its store key, or names the session holding it
            else:
                session_name_check(name)
        except (SessionStoreError, StoreError) as exc:
            raise CommandError(f"--session: {exc}") from None
        except DatabaseError:
            return  # the database is away: the supervisor's outage handling says so and waits

    def handle(self, *args: Any, **options: Any) -> None:
        from blacksky_site.secret_key import secret_key_require

        secret_key_require()  # backups are encrypted with a key derived from it: no key, no bot
        if not options["child"]:
            from bot.foreign_session import foreign_session_warn

            foreign_session_warn()  # another bot's SESSION_ID: one sentence, then pairing as usual
        transport = options["transport"]
        if transport == "console":
            logs_to_stderr()
        pair_phone = ""
        if options["pair_phone"]:
            from bot.control import ControlError, pair_phone_parse

            try:
                pair_phone = pair_phone_parse(options["pair_phone"])
            except ControlError as exc:
                raise CommandError(f"--pair-phone: {exc}") from exc
        if options["child"] and options["warm_fd"] is not None:
            from bot.child.main import child_warm_run

            code = child_warm_run(
                warm_fd=options["warm_fd"],
                transport_name=transport,
                heartbeat_fd=options["heartbeat_fd"],
                heartbeat_interval=options["heartbeat_interval"],
                fence_fd=options["fence_fd"],
            )
            logging.shutdown()
            sys.stdout.flush()
            os._exit(code)  # a non-daemon thread of neonize's may be left: as below
        if options["child"]:
            from bot.child.main import child_run

            code = child_run(
                session_name=options["session"],
                transport_name=transport,
                pair_phone=pair_phone,
                heartbeat_fd=options["heartbeat_fd"],
                heartbeat_interval=options["heartbeat_interval"],
                fence_fd=options["fence_fd"],
                fencing=options["fencing"],
                deaf_restarts=not options["no_deaf_restart"],
                confirm_logout=options["confirm_logout"],
            )
            logging.shutdown()
            sys.stdout.flush()
            # neonize's connect() runs on a non-daemon thread that a hung Go call never releases.
            os._exit(code)
        if options["all"]:
            code = self.run_fleet(options)
            if code:
                raise SystemExit(code)
            return
        from bot.supervisor.loop import Supervisor
        from bot.transport.base import SESSION_TRANSPORTS

        if not self.wait_for_database(broker=not options["no_scheduler"] and transport != "console"):
            return  # SIGTERM while the database (or Redis) was away: nothing was started
        self.check_session_name(options["session"])
        if transport not in SESSION_TRANSPORTS:
            # No WhatsApp account behind it: /healthz, /pair/, --all and .backup leave the name alone.
            from sessions_store.services import session_mark_trial

            session_mark_trial(name=options["session"])
        supervisor = Supervisor(
            session_name=options["session"],
            transport=transport,
            pair_phone=pair_phone,
            scheduler=not options["no_scheduler"] and transport != "console",
            run_once=options["run_once"],
        )
        supervisor.install_signal_handlers()
        code = supervisor.run()
        if code:
            raise SystemExit(code)

    def run_fleet(self, options: dict[str, Any]) -> int:
        """``--all``: every session this worker can lease, one supervisor each, one scheduler."""
        from bot.supervisor.fleet import Fleet

        given = {k for k in ("pair_phone", "run_once") if options[k]}
        if options["session"] != "default":
            given.add("session")
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in sorted(given))
            raise CommandError(f"--all runs every session; it does not take {flags} (use --session NAME instead)")
        if options["transport"] == "console":
            raise CommandError("--all needs a transport that does not share the terminal: use neonize")
        if options["max_sessions"] < 0:
            raise CommandError("--max-sessions takes 0 (no limit) or a positive number")
        if not self.wait_for_database(broker=not options["no_scheduler"]):
            return 0  # SIGTERM while the database (or Redis) was away: nothing was started
        fleet = Fleet(
            transport=options["transport"],
            scheduler=not options["no_scheduler"],
            max_sessions=options["max_sessions"],
        )
        fleet.install_signal_handlers()
        return fleet.run()


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
