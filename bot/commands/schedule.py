"""Time commands: scheduled messages (``.schedule``, ``.schedules``, ``.unschedule``), the chat's time zone
(``.tz``), and group mutes now, for a while (``.mute 30m``) or every day (``.automute``, ``.autounmute``).

Imported by the bot child's registry. Every ``<when>`` is checked by ``bot.schedule_rules`` and every
limit by ``bot.scheduled`` before anything is stored; the occurrences are sent later by the worker's
django-q2 task through the outbox.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from bot import scheduled
from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.schedule_rules import WhenError, daily_at, once_in, parse_when, zone_named
from bot.transport.base import Reply

MAX_TEXT = 2000
SHOWN_TEXT = 60
Kind = scheduled.Kind


def _zone(ctx: CommandContext) -> str:
    return scheduled.chat_time_zone(session_name=ctx.session_name, chat=ctx.chat)


def _local(ctx: CommandContext, moment, zone: str) -> str:
    return moment.astimezone(zone_named(zone)).strftime("%Y-%m-%d %H:%M")


@command(
    "schedule",
    aliases=("remind",),
    category="time",
    help="Send a message later or at set times (in 10m, at 18:30, daily 08:00, mon,wed 19:00, cron).",
    usage="<when> <message>",
    who="group_admin",
    where="group",
)
def schedule(ctx: CommandContext) -> Reply:
    if not ctx.arg_text.strip():
        return ctx.reply(ctx.usage())
    zone = _zone(ctx)
    try:
        parsed = parse_when(ctx.arg_text, now=timezone.now(), tz=zone_named(zone))
    except WhenError as refused:
        return ctx.reply(str(refused))
    if not parsed.text.strip():
        return ctx.reply(_("What should I send then? %(usage)s") % {"usage": ctx.usage()})
    if len(parsed.text) > MAX_TEXT:
        return ctx.reply(_("A scheduled message can have at most %(max)d characters.") % {"max": MAX_TEXT})
    try:
        row = scheduled.scheduled_create(
            session_name=ctx.session_name, chat=ctx.chat, parsed=parsed, time_zone=zone, created_by=ctx.user_key
        )
    except scheduled.ScheduleRefused as refused:
        return ctx.reply(str(refused))
    return ctx.reply(
        _("Scheduled #%(id)d (%(rule)s). First: %(first)s %(zone)s.")
        % {
            "id": row.pk,
            "rule": parsed.rule.describe(zone_named(zone)),
            "first": _local(ctx, parsed.first, zone),
            "zone": zone,
        }
    )


@command("schedules", category="time", help="This group's scheduled messages and timed mutes, with ids.", where="group")
def schedules(ctx: CommandContext) -> Reply:
    rows = scheduled.scheduled_list(session_name=ctx.session_name, chat=ctx.chat)
    if not rows:
        return ctx.reply(
            _("Nothing is scheduled here. Add one with %(prefix)sschedule <when> <message>.") % {"prefix": ctx.prefix}
        )
    lines = [_("Scheduled here (%(count)d):") % {"count": len(rows)}]
    for row in rows:
        rule = scheduled.Rule.from_json(row.rule)
        what = {Kind.MUTE: _("[mute]"), Kind.UNMUTE: _("[unmute]")}.get(row.kind, "")
        text = row.text if len(row.text) <= SHOWN_TEXT else row.text[: SHOWN_TEXT - 1] + "…"
        nxt = _local(ctx, row.next_run, row.time_zone) if row.next_run else "-"
        lines.append(
            _("#%(id)d %(rule)s, next %(next)s %(zone)s: %(what)s %(text)s")
            % {
                "id": row.pk,
                "rule": rule.describe(scheduled.zone_of(row)),
                "next": nxt,
                "zone": row.time_zone,
                "what": what,
                "text": text,
            }
        )
    return ctx.reply("\n".join(line.replace(":  ", ": ").rstrip() for line in lines))


@command(
    "unschedule",
    category="time",
    help="Remove a scheduled message or timed mute by its id.",
    usage="<id>",
    who="group_admin",
    where="group",
)
def unschedule(ctx: CommandContext) -> Reply:
    raw = ctx.args[0].lstrip("#") if ctx.args else ""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return ctx.reply(ctx.usage())
    if scheduled.scheduled_cancel(session_name=ctx.session_name, chat=ctx.chat, schedule_id=int(raw)):
        return ctx.reply(_("Schedule #%(id)s removed.") % {"id": raw})
    return ctx.reply(
        _("This group has no schedule #%(id)s. See %(prefix)sschedules.") % {"id": raw, "prefix": ctx.prefix}
    )


@command(
    "tz",
    aliases=("timezone",),
    category="time",
    help="Show or set this group's time zone (e.g. Europe/Berlin).",
    usage="[Area/City]",
    where="group",
)
def tz(ctx: CommandContext) -> Reply:
    if not ctx.args:
        zone = _zone(ctx)
        return ctx.reply(
            _("This group's time zone is %(zone)s (%(now)s there).")
            % {"zone": zone, "now": _local(ctx, timezone.now(), zone)}
        )
    if not (ctx.is_group_admin or ctx.is_owner):
        return ctx.reply(_("Only group admins can change the time zone."))
    try:
        moved = scheduled.chat_time_zone_set(
            session_name=ctx.session_name, chat=ctx.chat, name=ctx.args[0], now=timezone.now()
        )
    except WhenError as refused:
        return ctx.reply(str(refused))
    zone = zone_named(ctx.args[0]).key
    return ctx.reply(
        _("Time zone set to %(zone)s (%(now)s there); %(moved)d repeating schedules follow it.")
        % {"zone": zone, "now": _local(ctx, timezone.now(), zone), "moved": moved}
    )


def _daily(ctx: CommandContext, kind: str) -> Reply:
    word = "automute" if kind == Kind.MUTE else "autounmute"
    arg = ctx.args[0].lower() if ctx.args else ""
    if arg in ("off", "stop", "no"):
        stopped = scheduled.scheduled_cancel_kind(
            session_name=ctx.session_name, chat=ctx.chat, kind=kind, repeating=True
        )
        return ctx.reply(_("%(word)s off (%(count)d removed).") % {"word": word, "count": stopped})
    if not arg:
        return ctx.reply(ctx.usage())
    zone = _zone(ctx)
    notice = ctx.arg_text.split(None, 1)[1] if len(ctx.args) > 1 else ""
    if len(notice) > MAX_TEXT:
        return ctx.reply(_("A scheduled message can have at most %(max)d characters.") % {"max": MAX_TEXT})
    try:
        parsed = daily_at(ctx.args[0], notice, now=timezone.now(), tz=zone_named(zone))
    except WhenError as refused:
        return ctx.reply(str(refused))
    scheduled.scheduled_cancel_kind(session_name=ctx.session_name, chat=ctx.chat, kind=kind, repeating=True)
    try:
        scheduled.scheduled_create(
            session_name=ctx.session_name,
            chat=ctx.chat,
            parsed=parsed,
            time_zone=zone,
            kind=kind,
            created_by=ctx.user_key,
        )
    except scheduled.ScheduleRefused as refused:
        return ctx.reply(str(refused))
    if kind == Kind.MUTE:
        text = _("Every day at %(clock)s %(zone)s I'll close the group (only admins can write).")
    else:
        text = _("Every day at %(clock)s %(zone)s I'll open the group for everyone.")
    return ctx.reply(text % {"clock": parsed.rule.clock, "zone": zone})


@command(
    "automute",
    category="time",
    help="Close the group every day at a time (only admins can write).",
    usage="HH:MM [notice] | off",
    who="group_admin",
    where="group",
    bot_admin=True,
)
def automute(ctx: CommandContext) -> Reply:
    return _daily(ctx, Kind.MUTE)


@command(
    "autounmute",
    category="time",
    help="Open the group every day at a time.",
    usage="HH:MM [notice] | off",
    who="group_admin",
    where="group",
    bot_admin=True,
)
def autounmute(ctx: CommandContext) -> Reply:
    return _daily(ctx, Kind.UNMUTE)


@command(
    "mute",
    aliases=("close",),
    category="group",
    help="Only admins can send messages (for a while with a duration: .mute 30m).",
    usage="[duration, e.g. 30m or 2h]",
    who="group_admin",
    where="group",
    bot_admin=True,
)
def mute(ctx: CommandContext) -> list[Reply] | Reply:
    if not ctx.args:
        return [
            ctx.group_action("announce"),
            ctx.reply(_("Group muted: only admins can send messages now."), quote=False),
        ]
    zone = _zone(ctx)
    now = timezone.now()
    try:
        parsed = once_in(ctx.args[0], "", now=now)
    except WhenError as refused:
        return ctx.reply(str(refused))
    scheduled.scheduled_cancel_kind(session_name=ctx.session_name, chat=ctx.chat, kind=Kind.UNMUTE, repeating=False)
    try:
        scheduled.scheduled_create(
            session_name=ctx.session_name,
            chat=ctx.chat,
            parsed=parsed,
            time_zone=zone,
            kind=Kind.UNMUTE,
            created_by=ctx.user_key,
        )
    except scheduled.ScheduleRefused as refused:
        return ctx.reply(str(refused))
    minutes = round((parsed.first - now).total_seconds() / 60)
    until = _local(ctx, parsed.first, zone)
    return [
        ctx.group_action("announce"),
        ctx.reply(
            _("Group muted for %(minutes)d min: only admins can send messages until %(until)s %(zone)s.")
            % {"minutes": minutes, "until": until[-5:], "zone": zone},
            quote=False,
        ),
    ]


@command(
    "unmute",
    aliases=("open",),
    category="group",
    help="Everyone can send messages again.",
    who="group_admin",
    where="group",
    bot_admin=True,
)
def unmute(ctx: CommandContext) -> list[Reply]:
    scheduled.scheduled_cancel_kind(session_name=ctx.session_name, chat=ctx.chat, kind=Kind.UNMUTE, repeating=False)
    return [ctx.group_action("unannounce"), ctx.reply(_("Group open: everyone can send messages again."), quote=False)]
