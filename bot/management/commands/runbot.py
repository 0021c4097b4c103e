"""``manage.py runbot``: the worker process (supervisor), and with ``--child`` the bot child it spawns.

Thin: parses options and hands over to :class:`bot.supervisor.Supervisor` or
:class:`bot.child.runtime.BotRuntime`. Only the child path imports a transport that may load neonize.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bot.heartbeat import BeatWriter, ChildExit

logger = logging.getLogger("bot.runbot")

TRANSPORTS = ("neonize", "console")


def logs_to_stderr() -> None:
    """The console transport owns stdout (JSON lines): move every stdout log handler to stderr."""
    for name in [None, *logging.root.manager.loggerDict]:
        target = logging.getLogger(name)
        for handler in getattr(target, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream in {sys.stdout, sys.__stdout__}:
                handler.setStream(sys.stderr)


def build_transport(name: str, *, session_name: str, pair_phone: str = "") -> Any:
    """``console``, ``neonize``, or ``package.module:Class`` (a transport of your own, e.g. a test double)."""
    if name == "console":
        from bot.transport.console import ConsoleTransport

        return ConsoleTransport()
    if name == "neonize":
        from bot.transport.neonize.client import NeonizeTransport
        from sessions_store.store import store_for

        return NeonizeTransport(
            session_name=session_name,
            dsn=store_for(session_name).dsn,
            log_level=settings.LOG_LEVEL,
            pair_phone=pair_phone,
            proxy=settings.WA_PROXY,
        )
    if ":" in name:
        module_name, _, attr = name.partition(":")
        return getattr(importlib.import_module(module_name), attr)()
    raise CommandError(f"unknown transport {name!r}: use neonize, console, or package.module:Class")


def publish_pairing_code(*, session_name: str, kind: str, code: str) -> None:
    """The current QR / phone code: in the database for ``/pair/`` and in the terminal (never in a log)."""
    from bot.links import pairing_page_url
    from sessions_store.pairing import PHONE_CODE_TTL_SECONDS, QR_TTL_SECONDS, pairing_code_store, pairing_qr_terminal

    ttl = QR_TTL_SECONDS if kind == "qr" else PHONE_CODE_TTL_SECONDS
    pairing_code_store(session_name=session_name, kind=kind, code=code, ttl_seconds=ttl)
    if kind == "qr":
        print("Scan this QR code with WhatsApp (Linked devices -> Link a device):", flush=True)
        print(pairing_qr_terminal(code), flush=True)
    else:
        print(f"Enter this code on your phone (Linked devices -> Link with phone number): {code}", flush=True)
    print(f"...or open the pairing page: {pairing_page_url()}", flush=True)


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

    def handle(self, *args: Any, **options: Any) -> None:
        transport = options["transport"]
        if transport == "console":
            logs_to_stderr()
        pair_phone = "".join(ch for ch in options["pair_phone"] if ch.isdigit())
        if options["pair_phone"] and not 5 <= len(pair_phone) <= 16:
            raise CommandError("--pair-phone takes the phone number in international format, digits only")
        if options["child"]:
            code = self.run_child(options, pair_phone=pair_phone)
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
        fleet = Fleet(
            transport=options["transport"],
            scheduler=not options["no_scheduler"],
            max_sessions=options["max_sessions"],
        )
        fleet.install_signal_handlers()
        return fleet.run()

    def run_child(self, options: dict[str, Any], *, pair_phone: str) -> int:
        from bot.child.memory import MemoryGuard
        from bot.child.runtime import BotRuntime

        session_name = options["session"]
        beats = BeatWriter(options["heartbeat_fd"]) if options["heartbeat_fd"] is not None else None
        try:
            transport = build_transport(options["transport"], session_name=session_name, pair_phone=pair_phone)
        except (CommandError, ImportError, AttributeError) as exc:
            logger.error("cannot build the transport", extra={"transport": options["transport"], "error": str(exc)})
            return ChildExit.USAGE
        webhooks = None
        if settings.CONNECTION_WEBHOOK_URL:
            from bot.webhooks import WebhookSender

            webhooks = WebhookSender()
        session_aware = options["transport"] == "neonize"
        runtime = BotRuntime(
            transport=transport,
            session_name=session_name,
            beats=beats,
            memory_guard=MemoryGuard(limit_mb=settings.MEMORY_LIMIT_MB),
            webhooks=webhooks,
            heartbeat_interval=options["heartbeat_interval"],
            on_qr=(lambda s: self.on_qr(session_name, s)) if session_aware else None,
            on_paired=(lambda s: self.on_paired(session_name, s)) if session_aware else None,
            on_terminal=(lambda d: self.on_terminal(session_name, d)) if session_aware else None,
        )

        def stop(signum: int, frame: Any) -> None:
            runtime.request_stop(reason=signal.Signals(signum).name.lower())

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            code = runtime.run()
        finally:
            if webhooks is not None:
                webhooks.close(timeout=2.0)
            if beats is not None:
                beats.close()
            connection.close()
        return code

    # -- session hooks (the sessions app owns the writes; guarded until its services land) ------------------
    @staticmethod
    def on_qr(session_name: str, signal_: Any) -> None:
        code = signal_.detail.get("code", "")
        if code:
            kind = "phone_code" if signal_.kind == "pair_code" else "qr"
            publish_pairing_code(session_name=session_name, kind=kind, code=code)

    @staticmethod
    def on_paired(session_name: str, signal_: Any) -> None:
        from sessions_store.pairing import pairing_code_clear
        from sessions_store.services import backup_create, session_mark_paired

        pairing_code_clear(session_name=session_name)
        session_mark_paired(
            session_name=session_name,
            jid=signal_.detail.get("jid", ""),
            push_name=signal_.detail.get("business_name", ""),
        )
        backup_create(session_name=session_name, reason="paired")  # the new keys survive the next restart

    @staticmethod
    def on_terminal(session_name: str, decision: Any) -> None:
        from sessions_store.services import session_mark_status

        status = {"logged_out": "logged_out", "replaced": "replaced"}.get(str(decision.state.value), "")
        if status:
            session_mark_status(session_name=session_name, status=status, reason=decision.reason)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
