"""Owner commands: backup, restart, broadcast, bans, maintenance, prefix, status.

Owners are ``OWNER_NUMBERS`` (exact phone digits); broadcast, bans and status are ``who="sudo"``
(SUDO_NUMBERS may use them too), backup, restart, maintenance and the prefix stay the owners'
alone. The router refuses everybody else before a handler runs. Restart goes through the control table (the supervisor restarts the child
gracefully); bans, maintenance and the prefix are persisted and take effect at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext, mention
from bot.dispatch.parsing import parse_on_off, validate_prefix
from bot.dispatch.registry import command
from bot.transport.base import GROUP_SERVER, Reply, jid_server, jid_user

BROADCAST_MAX_CHARS = 2000


def _on_off(value: bool) -> str:
    return _("on") if value else _("off")


@command("backup", category="owner", help="Back up the WhatsApp session now.", who="owner", cooldown=60)
def backup(ctx: CommandContext) -> Reply:
    try:
        from sessions_store.services import backup_create
    except ImportError:  # sessions_store without services: the supervisor does it from the control table
        from bot.control import control_request

        row = control_request(session_name=ctx.session_name, action="backup", args={"requested_via": "whatsapp"})
        return ctx.reply(_("Backup requested (#%(id)d); the worker takes it within a few seconds.") % {"id": row.pk})
    from sessions_store.selectors import session_find

    session = session_find(name=ctx.session_name)
    if session is not None and session.trial:
        return ctx.reply(_("Nothing backed up: this is a console trial, with no WhatsApp session to save."))
    made = backup_create(session_name=ctx.session_name, reason="manual")
    if made is None:
        return ctx.reply(_("Nothing backed up: no paired session to save yet, or another backup is running."))
    if made.state != "verified":
        return ctx.reply(
            _("Backup #%(id)d failed: %(reason)s.") % {"id": made.pk, "reason": made.state_reason or made.state}
        )
    return ctx.reply(
        _("Session backed up and verified (#%(id)d, %(kib)s KiB).")
        % {"id": made.pk, "kib": f"{made.stored_size / 1024:.0f}"}
    )


@command("restart", aliases=("reboot",), category="owner", help="Restart the bot gracefully.", who="owner", cooldown=60)
def restart(ctx: CommandContext) -> Reply:
    from bot.control import control_request

    row = control_request(
        session_name=ctx.session_name, action="restart", args={"requested_via": "whatsapp", "by": ctx.user_key}
    )
    return ctx.reply(
        _("Restart requested (#%(id)d). I'll finish what I'm doing and be back in a few seconds.") % {"id": row.pk}
    )


@command(
    "broadcast",
    aliases=("bc",),
    category="owner",
    help="Send a message to every group the bot is in (paced).",
    usage="<message>",
    who="sudo",
    cooldown=300,
)
def broadcast(ctx: CommandContext) -> list[Reply] | Reply:
    from bot.dispatch import selectors

    text = ctx.arg_text.strip()
    if not text:
        return ctx.reply(_("Write the message to send. %(usage)s") % {"usage": ctx.usage()})
    if len(text) > BROADCAST_MAX_CHARS:
        return ctx.reply(_("A broadcast can have at most %(most)d characters.") % {"most": BROADCAST_MAX_CHARS})
    groups = [g for g in selectors.known_groups(session_name=ctx.session_name) if jid_server(g) == GROUP_SERVER]
    if not groups:
        return ctx.reply(_("I don't know any group to broadcast to yet."))
    pacing = ctx.outbound.pacing
    seconds = len(groups) * 60.0 / pacing.global_per_minute if pacing.enabled else 0
    replies = [
        ctx.reply(
            _("Broadcasting to %(count)d group(s); paced, about %(seconds)ss.")
            % {"count": len(groups), "seconds": f"{seconds:.0f}"}
        )
    ]
    body = _("*Broadcast from %(bot)s*") % {"bot": ctx.bot_name} + f"\n\n{text}"
    replies += [Reply(kind="text", chat=chat, text=body) for chat in groups]
    return replies


def _ban_target(ctx: CommandContext) -> tuple[str, str] | None:
    """(user key, display) from a mention, a quote, or a phone number argument."""
    if ctx.targets:
        jid = ctx.targets[0]
        key = jid_user(jid)
        if ctx.group is not None:
            from bot.dispatch.moderation import member_key

            key = member_key(ctx.group, jid)
        return key, mention(jid)
    from bot.commands.group import _digits

    whole = _digits(ctx.arg_text)  # "+1 555 000 0003" as people type it
    if whole:
        return whole, f"+{whole}"
    for arg in ctx.args:
        digits = _digits(arg)
        if digits:
            return digits, f"+{digits}"
    return None


@command(
    "ban",
    category="owner",
    help="Make the bot ignore a user.",
    usage="@user|number [reason]",
    who="sudo",
)
def ban(ctx: CommandContext) -> Reply:
    target = _ban_target(ctx)
    if target is None:
        return ctx.reply(_("Mention a user, reply to them, or give their number. %(usage)s") % {"usage": ctx.usage()})
    key, shown = target
    if key in ctx.owners:
        return ctx.reply(_("Owners can't be banned."))
    reason = " ".join(a for a in ctx.args if not a.startswith("@") and not a.lstrip("+").isdigit())
    created = ctx.state.ban(key, reason=reason, banned_by=ctx.user_key)
    if not created:
        return ctx.reply(_("%(who)s is banned already.") % {"who": shown}, mentions=ctx.targets[:1])
    return ctx.reply(_("%(who)s is banned: I'll ignore their commands.") % {"who": shown}, mentions=ctx.targets[:1])


@command("unban", category="owner", help="Lift a ban.", usage="@user|number", who="sudo")
def unban(ctx: CommandContext) -> Reply:
    target = _ban_target(ctx)
    if target is None:
        return ctx.reply(_("Mention a user, reply to them, or give their number. %(usage)s") % {"usage": ctx.usage()})
    key, shown = target
    if ctx.state.unban(key):
        return ctx.reply(_("%(who)s is no longer banned.") % {"who": shown}, mentions=ctx.targets[:1])
    return ctx.reply(_("%(who)s was not banned.") % {"who": shown}, mentions=ctx.targets[:1])


@command("banlist", aliases=("bans",), category="owner", help="Who is banned.", who="sudo")
def banlist(ctx: CommandContext) -> Reply:
    from bot.dispatch import selectors

    rows = selectors.banned_list(session_name=ctx.session_name)
    if not rows:
        return ctx.reply(_("Nobody is banned."))
    lines = [_("*Banned (%(count)d)*") % {"count": len(rows)}]
    lines += [
        f"{i}. +{row.phone} - {row.at:%Y-%m-%d}{' - ' + row.reason if row.reason else ''}"
        for i, row in enumerate(rows, 1)
    ]
    return ctx.reply("\n".join(lines))


@command(
    "maintenance",
    category="owner",
    help="Maintenance mode: only owners can use the bot.",
    usage="on|off",
    who="owner",
)
def maintenance(ctx: CommandContext) -> Reply:
    value = parse_on_off(ctx.args[0]) if ctx.args else None
    state = ctx.state
    if value is None:
        return ctx.reply(
            _("Maintenance mode is %(state)s. %(usage)s") % {"state": _on_off(state.maintenance), "usage": ctx.usage()}
        )
    state.set_maintenance(value)
    if value:
        return ctx.reply(_("Maintenance mode on: only owners can use commands now."))
    return ctx.reply(_("Maintenance mode off: everyone can use commands again."))


@command(
    "setprefix",
    category="owner",
    help="Change the command prefix (one or more punctuation characters).",
    usage="<characters, e.g. . or .!>",
    who="owner",
)
def setprefix(ctx: CommandContext) -> Reply:
    if not ctx.args:
        return ctx.reply(
            _("The prefix is %(prefixes)s. %(usage)s") % {"prefixes": " ".join(ctx.state.prefix), "usage": ctx.usage()}
        )
    try:
        prefix = validate_prefix("".join(ctx.args))
    except ValueError as exc:
        return ctx.reply(_("Not changed: %(reason)s.") % {"reason": exc})
    ctx.state.set_prefix(prefix, set_by=ctx.user_key)
    shown = " ".join(prefix)
    return ctx.reply(
        _("Prefix changed to %(prefixes)s. Try %(menu)s.") % {"prefixes": shown, "menu": prefix[0] + "menu"}
    )


@command("status", aliases=("connection",), category="owner", help="Connection state in detail.", who="sudo")
def status(ctx: CommandContext) -> Reply:
    from django.utils import timezone

    from bot.commands.core import format_duration
    from bot.models import BotStatus, ReconnectEvent

    now = timezone.now()
    row = BotStatus.objects.filter(session_name=ctx.session_name).first()
    lines = [_("*%(bot)s status* (%(session)s)") % {"bot": ctx.bot_name, "session": ctx.session_name}]
    if row is None:
        lines.append(_("No status recorded yet."))
    else:
        lines.append(
            _("State: %(state)s for %(duration)s")
            % {"state": row.state, "duration": format_duration((now - row.state_since).total_seconds())}
        )
        if row.reason:
            lines.append(_("Reason: %(reason)s") % {"reason": row.reason})
        if row.connected_since:
            lines.append(_("Connected since %(when)s UTC") % {"when": f"{row.connected_since:%Y-%m-%d %H:%M}"})
        if row.last_heartbeat_at:
            ago = format_duration((now - row.last_heartbeat_at).total_seconds())
            lines.append(_("Last heartbeat %(duration)s ago") % {"duration": ago})
        lines.append(
            _("Child restarts: %(restarts)d, memory: %(mib)s MiB")
            % {"restarts": row.child_restarts, "mib": f"{row.rss_bytes / (1024 * 1024):.0f}"}
        )
    reconnects = ReconnectEvent.objects.filter(session_name=ctx.session_name, at__gte=now - timedelta(hours=24))
    lines.append(_("Reconnects in 24h: %(count)d") % {"count": reconnects.count()})
    outbound = ctx.outbound
    if outbound.is_paused():
        left = outbound.paused_until - ctx.clock()
        lines.append(
            _("Sending paused (%(reason)s) for %(duration)s more")
            % {"reason": outbound.pause_reason, "duration": format_duration(left)}
        )
    lines.append(
        _("Sent %(sent)d, failed %(failed)d, dropped %(dropped)d")
        % {"sent": outbound.sent_count, "failed": outbound.failed_count, "dropped": outbound.dropped_count}
    )
    lines.append(
        _("Maintenance: %(state)s, prefix: %(prefixes)s")
        % {"state": _on_off(ctx.state.maintenance), "prefixes": " ".join(ctx.state.prefix)}
    )
    return ctx.reply("\n".join(lines))
