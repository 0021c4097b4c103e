"""Core commands: menu/help, ping, uptime, alive, stats, runtime.

The menu is built from registry metadata only, so it never imports the other command modules.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bot.dispatch.context import CommandContext
from bot.dispatch.registry import CommandSpec, command
from bot.transport.base import Reply

WHO_TEXT = {
    "anyone": gettext_lazy("everyone"),
    "group_admin": gettext_lazy("group admins"),
    "sudo": gettext_lazy("the bot owner and sudo users"),
    "owner": gettext_lazy("the bot owner"),
}
WHERE_TEXT = {
    "any": gettext_lazy("anywhere"),
    "group": gettext_lazy("groups"),
    "private": gettext_lazy("private chats"),
}
#: The categories' titles in the menu; a category not listed here shows its name.
CATEGORY_TITLES = {
    "core": gettext_lazy("Core"),
    "group": gettext_lazy("Group"),
    "owner": gettext_lazy("Owner"),
    "fun": gettext_lazy("Fun"),
    "reactions": gettext_lazy("Reactions"),
    "schedule": gettext_lazy("Schedule"),
    "media": gettext_lazy("Media"),
    "utility": gettext_lazy("Utility"),
}


def category_title(category: str) -> str:
    return str(CATEGORY_TITLES.get(category, category.title()))


def help_text(spec: CommandSpec) -> str:
    """A command's menu line in the reader's language (the English text is the catalogue's key)."""
    return _(spec.help) if spec.help else ""


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


def _may_use(ctx: CommandContext, spec: CommandSpec) -> bool:
    """The menu lists owner-only and sudo commands only to those who may run them."""
    if spec.who == "owner":
        return ctx.is_owner
    if spec.who == "sudo":
        return ctx.is_owner or ctx.is_sudo
    return True


def _spec_line(prefix: str, spec: CommandSpec) -> str:
    return f"{prefix}{spec.name} - {help_text(spec)}"


@command("menu", aliases=("list", "commands"), category="core", help="All commands by category.", usage="[category]")
def menu(ctx: CommandContext) -> Reply:
    if ctx.args:
        return help_(ctx)
    prefix = ctx.prefix
    lines = [_("*%(bot)s* - prefix %(prefix)s") % {"bot": ctx.bot_name, "prefix": prefix}, ""]
    for category, specs in ctx.registry.categories().items():
        usable = [s for s in specs if _may_use(ctx, s)]
        if not usable:
            continue
        lines.append(f"*{category_title(category)}* ({len(usable)})")
        lines.append(", ".join(f"{prefix}{s.name}" for s in usable))
        lines.append("")
    lines.append(_("Send %(help)s <command> for details.") % {"help": prefix + "help"})
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
            f"*{prefix}{spec.name}* - {help_text(spec)}",
            _("Usage: %(usage)s") % {"usage": f"{prefix}{spec.name}{' ' + spec.usage if spec.usage else ''}"},
        ]
        if spec.aliases:
            lines.append(_("Aliases: %(aliases)s") % {"aliases": ", ".join(prefix + a for a in spec.aliases)})
        lines.append(
            _("Who: %(who)s - Where: %(where)s") % {"who": WHO_TEXT[spec.who], "where": WHERE_TEXT[spec.where]}
        )
        if spec.bot_admin:
            lines.append(_("The bot must be a group admin."))
        if spec.cooldown:
            lines.append(_("Cooldown: %(seconds)ss") % {"seconds": f"{spec.cooldown:g}"})
        return ctx.reply("\n".join(lines))
    categories = registry.categories()
    if wanted in categories:
        lines = [f"*{category_title(wanted)}*"] + [_spec_line(prefix, s) for s in categories[wanted]]
        return ctx.reply("\n".join(lines))
    return ctx.reply(
        _("No command or category called %(wanted)s. Send %(menu)s for the list.")
        % {"wanted": repr(wanted[:64]), "menu": prefix + "menu"}
    )


@command("ping", category="core", help="Check that the bot answers, and how fast.", cooldown=3)
def ping(ctx: CommandContext) -> Reply:
    latency_ms = (datetime.now(UTC) - ctx.message.timestamp) / timedelta(milliseconds=1)
    if latency_ms < 0 or latency_ms > 24 * 3600 * 1000:
        return ctx.reply(_("pong"))
    return ctx.reply(_("pong (%(ms)s ms)") % {"ms": f"{latency_ms:.0f}"})


@command("uptime", category="core", help="How long the bot has been running.")
def uptime(ctx: CommandContext) -> Reply:
    return ctx.reply(_("Up for %(duration)s.") % {"duration": format_duration(uptime_seconds(ctx))})


@command("alive", aliases=("bot",), category="core", help="Is the bot alive?")
def alive(ctx: CommandContext) -> Reply:
    prefix = ctx.state.prefix
    return ctx.reply(
        _(
            "*%(bot)s* is alive and listening.\nUp for %(duration)s. Prefix: %(prefixes)s\nSend %(menu)s to see what I can do."
        )
        % {
            "bot": ctx.bot_name,
            "duration": format_duration(uptime_seconds(ctx)),
            "prefixes": " ".join(prefix),
            "menu": prefix[0] + "menu",
        }
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
        _("*%(bot)s stats*") % {"bot": ctx.bot_name},
        _("Since start (%(duration)s): %(messages)d messages, %(commands)d commands, %(errors)d errors, %(sent)d sent.")
        % {
            "duration": format_duration(uptime_seconds(ctx)),
            "messages": live.totals.messages_in,
            "commands": live.totals.commands,
            "errors": live.totals.errors,
            "sent": ctx.outbound.sent_count,
        },
        _("Last 24h (saved): %(messages)d messages, %(commands)d commands, %(errors)d errors.")
        % {"messages": day["messages_in"] or 0, "commands": day["commands"] or 0, "errors": day["errors"] or 0},
        _("Commands: %(commands)d, groups known: %(groups)d.")
        % {"commands": len(ctx.registry.specs()), "groups": len(ctx.state.groups)},
    ]
    return ctx.reply("\n".join(lines))


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return _("not installed")


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
        _("*%(bot)s runtime*") % {"bot": ctx.bot_name},
        _("Python %(version)s on %(system)s")
        % {"version": platform.python_version(), "system": f"{platform.system()} {platform.machine()}"},
        f"Django {_version('Django')}, neonize {_version('neonize')}",
        _("PID %(pid)d, up %(duration)s") % {"pid": os.getpid(), "duration": format_duration(uptime_seconds(ctx))},
        _("Memory: %(mib)s MiB") % {"mib": f"{rss:.1f}"} if rss is not None else _("Memory: unknown"),
        _("Command modules loaded: %(loaded)d/%(all)d") % {"loaded": len(loaded), "all": len(modules)},
        _("Group cache: %(groups)d groups") % {"groups": len(ctx.groups)},
        _("Python modules: %(count)d") % {"count": len(sys.modules)},
    ]
    return ctx.reply("\n".join(lines))
