"""Which transport a bot child runs: ``neonize`` (WhatsApp), ``console``, or ``module:Class``.

Only the child calls this: building the neonize transport loads neonize, which must never be
loaded in a process that forks (the supervisor runs the django-q2 cluster).
"""

from __future__ import annotations

import importlib
import inspect

from django.conf import settings

from bot.transport.base import Transport


class UnknownTransport(ValueError):
    pass


def transport_build(name: str, *, session_name: str, pair_phone: str = "") -> Transport:
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
        cls = getattr(importlib.import_module(module_name), attr)
        # A transport of your own pairs by phone if it says it can (takes ``pair_phone``).
        if pair_phone and "pair_phone" in inspect.signature(cls).parameters:
            return cls(pair_phone=pair_phone)
        return cls()
    raise UnknownTransport(f"unknown transport {name!r}: use neonize, console, or package.module:Class")


def transport_preload(name: str) -> None:
    """Import what ``transport_build(name)`` needs, building nothing: a pre-warmed child (``bot.warm_start``)
    owns no session yet, so it opens no store and no client. From here on this process must never fork."""
    if name == "console":
        importlib.import_module("bot.transport.console")
    elif name == "neonize":
        importlib.import_module("bot.transport.neonize.client")  # loads Go
        importlib.import_module("sessions_store.store")
    elif ":" in name:
        importlib.import_module(name.partition(":")[0])
    else:
        raise UnknownTransport(f"unknown transport {name!r}: use neonize, console, or package.module:Class")
