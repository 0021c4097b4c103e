"""Commands: registry (``@command``), parsing, router, handler context.

``build_router(transport=..., session_name=...)`` wires a ``Router`` with the project's command
registry, the paced ``Outbound``, the persisted chat state, the group metadata cache and the
per-user limits, all from settings. The runtime calls ``router.handle(message)`` and queues
``result.replies`` in the outbox (``bot.outbox``), whose sender sends them through
``router.outbound`` (tests may call ``router.handle_and_send``), and passes
group changes to ``router.handle_group_change``, deletes and edits to ``router.history.handle``
and connection signals to ``router.outbound.on_signal``, incoming calls to
``router.handle_call``. Who may run what (``BOT_MODE``, ``SUDO_NUMBERS``), anti-call and read receipts
are read per message through ``bot.runtime_settings`` (so ``.setvar`` changes them at once).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from bot.dispatch.context import CommandContext
from bot.dispatch.limits import PacingConfig
from bot.dispatch.registry import CommandSpec, Registry, command
from bot.dispatch.registry import registry as project_registry
from bot.dispatch.router import DispatchResult, Router
from bot.dispatch.stats import StatsCollector
from bot.transport.base import Transport

registry = project_registry

__all__ = [
    "CommandContext",
    "CommandSpec",
    "DispatchResult",
    "Registry",
    "Router",
    "build_router",
    "command",
    "registry",
]


def build_router(
    *,
    transport: Transport,
    session_name: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    registry: Registry | None = None,
    pacing: PacingConfig | None = None,
    stats: StatsCollector | None = None,
    rng: random.Random | None = None,
) -> Router:
    """A router for one session, configured from settings (prefix, owners, limits, pacing); the
    variables an owner may change from the chat are read per message through ``bot.runtime_settings``.

    ``clock``/``sleep`` drive cooldowns, caches and pacing (tests pass a hand clock); ``registry``
    defaults to the project's commands; ``pacing`` defaults to the OUTBOUND_*/TYPING_SECONDS
    settings (``PacingConfig(enabled=False)`` for benchmarks); ``stats`` is the session's one counter
    (the child's runtime passes its own); ``rng`` seeds the fun commands.
    """
    from django.conf import settings

    from bot import runtime_settings
    from bot.dispatch.afk import AwayBook
    from bot.dispatch.groups import GroupCache
    from bot.dispatch.history import HistoryKeeper
    from bot.dispatch.limits import UserLimits
    from bot.dispatch.outbound import Outbound
    from bot.dispatch.state import ChatState
    from bot.outbox import HandledIds

    pacing_config = pacing if pacing is not None else PacingConfig.from_settings()
    outbound = Outbound(transport=transport, session_name=session_name, clock=clock, sleep=sleep, pacing=pacing_config)
    stats = stats if stats is not None else StatsCollector(session_name=session_name)
    owners = list(getattr(settings, "OWNER_NUMBERS", []))
    state = ChatState(session_name=session_name, default_prefix=settings.BOT_PREFIX or ".", clock=clock)
    return Router(
        transport=transport,
        session_name=session_name,
        registry=registry if registry is not None else project_registry,
        outbound=outbound,
        state=state,
        groups=GroupCache(transport=transport, clock=clock, ttl=float(getattr(settings, "GROUP_CACHE_TTL", 300))),
        limits=UserLimits(
            per_minute=settings.USER_COMMANDS_PER_MINUTE,
            burst=settings.USER_COMMANDS_BURST,
            clock=clock,
        ),
        owners=owners,
        bot_name=getattr(settings, "BOT_NAME", "BLACKSKY-MD"),
        clock=clock,
        stats=stats,
        rng=rng,
        answered_before=HandledIds(session_name=session_name),
        live_settings=True,
        history=HistoryKeeper(
            session_name=session_name,
            owners=lambda: runtime_settings.runtime_value("OWNER_NUMBERS", session=session_name),
            stats=stats,
            was_sent_by_us=outbound.was_sent_by_us,
            clock=clock,
            language_of=state.language,
        ),
        away=AwayBook(session_name=session_name, clock=clock),
    )
