"""Core commands: menu/help, ping, uptime, alive, stats, runtime.

The menu is built from registry metadata only, so it never imports the other command modules.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime, timedelta

from bot.dispatch.context import CommandContext
from bot.dispatch.registry import CommandSpec, command
from bot.transport.base import Reply

WHO_TEXT = {"anyone": "everyone", "group_admin": "group admins", "owner": "the bot owner"}
WHERE_TEXT = {"any": "anywhere", "group": "groups", "private": "private chats"}


def format_duration(seconds: float) -> str:
    """3725 -> '1h 2m 5s'; 90061 -> '1d 1h 1m 1s'."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    if days or hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)


def uptime_seconds(ctx: CommandContext) -> float:
    return ctx.uptime()


def _spec_line(prefix: str, spec: CommandSpec) -> str:
    return f"{prefix}{spec.name} - {spec.help}"


@command("menu", aliases=("list", "commands"), category="core", help="All commands by category.", usage="[category]")
def menu(ctx: CommandContext) -> Reply:
    if ctx.args:
        return help_(ctx)
    prefix = ctx.prefix
    lines = [f"*{ctx.bot_name}* - prefix {prefix}", ""]
    for category, specs in ctx.registry.categories().items():
        usable = [s for s in specs if ctx.is_owner or s.who != "owner"]
        if not usable:
            continue
        lines.append(f"*{category.title()}* ({len(usable)})")
        lines.append(", ".join(f"{prefix}{s.name}" for s in usable))
        lines.append("")
    lines.append(f"Send {prefix}help <command> for details.")
    return ctx.reply("\n".join(lines), quote=False)


@command(
    "help", aliases=("h", "?"), category="core", help="How to use a command or a category.", usage="[command|category]"
)
def help_(ctx: CommandContext) -> Reply:
    registry = ctx.registry
    prefix = ctx.prefix
    if not ctx.args:
        return menu(ctx)
    wanted = ctx.args[0].lower().lstrip(prefix)
    spec = registry.lookup(wanted)
    if spec is not None:
        lines = [
            f"*{prefix}{spec.name}* - {spec.help}",
            f"Usage: {prefix}{spec.name}{' ' + spec.usage if spec.usage else ''}",
        ]
        if spec.aliases:
            lines.append("Aliases: " + ", ".join(prefix + a for a in spec.aliases))
        lines.append(f"Who: {WHO_TEXT[spec.who]} - Where: {WHERE_TEXT[spec.where]}")
        if spec.bot_admin:
            lines.append("The bot must be a group admin.")
        if spec.cooldown:
            lines.append(f"Cooldown: {spec.cooldown:g}s")
        return ctx.reply("\n".join(lines))
    categories = registry.categories()
    if wanted in categories:
        lines = [f"*{wanted.title()}*"] + [_spec_line(prefix, s) for s in categories[wanted]]
        return ctx.reply("\n".join(lines))
    return ctx.reply(f"No command or category called {wanted!r}. Send {prefix}menu for the list.")


@command("ping", category="core", help="Check that the bot answers, and how fast.", cooldown=3)
def ping(ctx: CommandContext) -> Reply:
    latency_ms = (datetime.now(UTC) - ctx.message.timestamp) / timedelta(milliseconds=1)
    if latency_ms < 0 or latency_ms > 24 * 3600 * 1000:
        return ctx.reply("pong")
    return ctx.reply(f"pong ({latency_ms:.0f} ms)")


@command("uptime", category="core", help="How long the bot has been running.")
def uptime(ctx: CommandContext) -> Reply:
    return ctx.reply(f"Up for {format_duration(uptime_seconds(ctx))}.")


@command("alive", aliases=("bot",), category="core", help="Is the bot alive?")
def alive(ctx: CommandContext) -> Reply:
    prefix = ctx.state.prefix
    return ctx.reply(
        f"*{ctx.bot_name}* is alive and listening.\n"
        f"Up for {format_duration(uptime_seconds(ctx))}. Prefix: {' '.join(prefix)}\n"
        f"Send {prefix[0]}menu to see what I can do."
    )


@command("stats", category="core", help="Messages and commands handled, in short.", cooldown=10)
def stats(ctx: CommandContext) -> Reply:
    from django.db.models import Sum
    from django.utils import timezone

    from bot.models import MessageStat

    since = timezone.now() - timedelta(hours=24)
    day = MessageStat.objects.filter(session_name=ctx.session_name, bucket__gte=since).aggregate(
        messages_in=Sum("messages_in"), commands=Sum("commands"), errors=Sum("errors")
    )
    live = ctx.stats
    lines = [
        f"*{ctx.bot_name} stats*",
        f"Since start ({format_duration(uptime_seconds(ctx))}): {live.totals.messages_in} messages, "
        f"{live.totals.commands} commands, {live.totals.errors} errors, {ctx.outbound.sent_count} sent.",
        f"Last 24h (saved): {day['messages_in'] or 0} messages, {day['commands'] or 0} commands, "
        f"{day['errors'] or 0} errors.",
        f"Commands: {len(ctx.registry.specs())}, groups known: {len(ctx.state.groups)}.",
    ]
    return ctx.reply("\n".join(lines))


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _rss_mib() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process(os.getpid()).memory_info().rss / (1024 * 1024)


@command("runtime", aliases=("sysinfo",), category="core", help="Versions, memory and loaded modules.", cooldown=10)
def runtime(ctx: CommandContext) -> Reply:
    registry = ctx.registry
    modules = {s.module for s in registry.specs() if s.module}
    loaded = [m for m in registry.loaded_modules() if m in modules]
    rss = _rss_mib()
    lines = [
        f"*{ctx.bot_name} runtime*",
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}",
        f"Django {_version('Django')}, neonize {_version('neonize')}",
        f"PID {os.getpid()}, up {format_duration(uptime_seconds(ctx))}",
        f"Memory: {rss:.1f} MiB" if rss is not None else "Memory: unknown",
        f"Command modules loaded: {len(loaded)}/{len(modules)}",
        f"Group cache: {len(ctx.groups)} groups",
        f"Python modules: {len(sys.modules)}",
    ]
    return ctx.reply("\n".join(lines))
