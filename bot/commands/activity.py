"""Group activity from the members' message counts: ``.top`` and ``.inactive`` (with a confirmed kick).

Counts come from ``bot.dispatch.activity`` (counters per member and day, never message contents).
"""

from __future__ import annotations

import hashlib
import time

from django.utils.translation import gettext as _

from bot.dispatch.activity import activity_inactive, activity_top
from bot.dispatch.context import CommandContext, mention
from bot.dispatch.registry import command
from bot.transport.base import Reply, jid_user

MAX_DAYS = 90
MAX_KICKS = 50
CONFIRM_SECONDS = 120.0
_pending: dict[tuple[str, str, str], tuple[float, str]] = {}  # (session, chat, admin) -> (until, members' digest)


def days_parse(text: str) -> int | None:
    """'30d', '2w', '30' -> days (1..90), else None."""
    text = text.strip().lower()
    factor = 7 if text.endswith("w") else 1
    digits = text[:-1] if text[-1:] in ("d", "w") else text
    if not digits.isdigit() or len(digits) > 3:
        return None
    days = int(digits) * factor
    return days if 1 <= days <= MAX_DAYS else None


@command("top", aliases=("active",), category="group", help="The most active members this week.", where="group")
def top(ctx: CommandContext) -> Reply:
    if ctx.activity is not None:
        ctx.activity.flush()  # the last seconds' counts too
    ranked = activity_top(session_name=ctx.session_name, chat=ctx.chat, days=7)
    if not ranked:
        return ctx.reply(_("No messages counted in this group this week yet."))
    lines = [_("Most active this week:")]
    lines += [f"{i}. {mention(member)}: {n}" for i, (member, n) in enumerate(ranked, 1)]
    return ctx.reply("\n".join(lines), mentions=[member for member, _n in ranked], quote=False)


@command(
    "inactive",
    category="group",
    help="Members with no message in the last days; 'kick' removes them after a confirmation.",
    usage="<days, e.g. 30d> [kick [confirm]]",
    who="group_admin",
    where="group",
)
def inactive(ctx: CommandContext) -> Reply:
    assert ctx.group is not None
    days = days_parse(ctx.args[0]) if ctx.args else None
    if days is None:
        return ctx.reply(_("Give the days as 1d to %(max)dd, e.g. %(example)s.") % {"max": MAX_DAYS, "example": "30d"})
    if ctx.activity is not None:
        ctx.activity.flush()  # the last seconds' counts too
    silent, since = activity_inactive(session_name=ctx.session_name, group=ctx.group, days=days)
    me = jid_user(ctx.bot_jid)
    silent = [p for p in silent if jid_user(p.jid) != me]
    note = ""
    if since is None or (time.time() - time.mktime(since.timetuple())) / 86400 < days:
        note = "\n" + _("(Counting began on %(day)s: members silent since then are listed.)") % {
            "day": since.isoformat() if since else _("today")
        }
    words = [a.lower() for a in ctx.args[1:]]
    if not words:
        if not silent:
            return ctx.reply(_("Everyone wrote in the last %(days)d days.") % {"days": days} + note)
        lines = [_("%(n)d members wrote nothing in the last %(days)d days:") % {"n": len(silent), "days": days}]
        lines += [f"- {mention(p.jid)}" for p in silent[:100]]
        return ctx.reply("\n".join(lines) + note, mentions=[p.jid for p in silent[:100]], quote=False)
    if words[0] != "kick":
        return ctx.reply(ctx.usage())
    return _kick(ctx, silent=silent, days=days, confirmed=words[1:2] == ["confirm"])


def _kick(ctx: CommandContext, *, silent: list, days: int, confirmed: bool) -> list[Reply] | Reply:
    if not ctx.bot_is_admin:
        return ctx.reply(_("I need to be a group admin to remove members."))
    owners = ctx.owners
    removable = [p for p in silent if not (p.is_admin or p.is_super_admin) and p.phone not in owners][:MAX_KICKS]
    if not removable:
        return ctx.reply(_("Nobody to remove: the silent members are admins or owners."))
    digest = hashlib.sha256(",".join(sorted(p.jid for p in removable)).encode()).hexdigest()
    key = (ctx.session_name, ctx.chat, ctx.sender)
    now = time.monotonic()
    if not confirmed:
        _pending[key] = (now + CONFIRM_SECONDS, digest)
        if len(_pending) > 1000:
            _pending.clear()
        return ctx.reply(
            _("This removes %(n)d members silent for %(days)d days. To go ahead, send %(command)s within 2 minutes.")
            % {"n": len(removable), "days": days, "command": f"{ctx.prefix}inactive {days}d kick confirm"}
        )
    until, expected = _pending.pop(key, (0.0, ""))
    if now > until:
        return ctx.reply(_("Nothing to confirm (or it expired): send the command without 'confirm' first."))
    if expected != digest:
        return ctx.reply(_("The list of silent members changed; send the command without 'confirm' again."))
    notice = _("Removing %(n)d members silent for %(days)d days.") % {"n": len(removable), "days": days}
    return [ctx.reply(notice), ctx.group_action("remove", targets=[p.jid for p in removable])]
