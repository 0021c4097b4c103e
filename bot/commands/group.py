"""Group commands: members, admins, group settings and the invite link (switches and warnings: ``moderation``;
mute and unmute, now or timed: ``schedule``).

Acting commands (``bot_admin=True``) need the bot to be a group admin; the router says so when it
is not. Admin checks use the cached group metadata (``bot.dispatch.groups``), never a network call per
message.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.commands._members import is_me, need_targets
from bot.dispatch.context import CommandContext, mention
from bot.dispatch.moderation import find_member, member_key
from bot.dispatch.registry import command
from bot.moderation_settings import moderation_log_record
from bot.transport.base import Reply, jid_user, user_jid

MAX_NAME = 100
MAX_TOPIC = 512


def _on_off(value: bool) -> str:
    return _("on") if value else _("off")


def _mentions_text(jids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(mention(j) for j in jids)


# -- members ------------------------------------------------------------------------------------------------
@command(
    "tagall",
    aliases=("everyone", "all"),
    category="group",
    help="Mention every member of the group.",
    usage="[message]",
    who="group_admin",
    where="group",
    cooldown=60,
)
def tagall(ctx: CommandContext) -> Reply:
    assert ctx.group is not None
    me = jid_user(ctx.bot_jid)
    members = [p.jid for p in ctx.group.participants if jid_user(p.jid) != me]
    header = ctx.arg_text or _("Attention, everyone!")
    lines = [header, ""] + [f"- {mention(j)}" for j in members]
    return ctx.reply("\n".join(lines), mentions=members, quote=False)


@command(
    "hidetag",
    category="group",
    help="Send a message that mentions every member, without listing them.",
    usage="text",
    who="group_admin",
    where="group",
    cooldown=30,
)
def hidetag(ctx: CommandContext) -> Reply:
    assert ctx.group is not None
    text = ctx.arg_text.strip()
    if not text:
        return ctx.reply(_("Write the message to send. %(usage)s") % {"usage": ctx.usage()})
    me = jid_user(ctx.bot_jid)
    members = [
        p.jid
        for p in ctx.group.participants
        if not me or me not in {jid_user(p.jid), p.phone, jid_user(p.lid) if p.lid else ""}
    ]
    return ctx.reply(text, mentions=members, quote=False)  # mentionedJID holds them; the text names nobody


@command(
    "kick",
    aliases=("remove",),
    category="group",
    help="Remove members from the group.",
    usage="@member [...] (or reply to their message)",
    who="group_admin",
    where="group",
    bot_admin=True,
)
def kick(ctx: CommandContext) -> list[Reply] | Reply:
    missing = need_targets(ctx)
    if missing:
        return missing
    removable, skipped = [], []
    owners = ctx.owners
    for jid in ctx.targets:
        member = find_member(ctx.group, jid)
        if is_me(ctx, jid):
            skipped.append(_("%(who)s (that's me)") % {"who": mention(jid)})
        elif member is None:
            skipped.append(_("%(who)s (not in this group)") % {"who": mention(jid)})
        elif member.is_super_admin:
            skipped.append(_("%(who)s (the group's creator)") % {"who": mention(jid)})
        elif member_key(ctx.group, jid) in owners:
            skipped.append(_("%(who)s (the bot owner)") % {"who": mention(jid)})
        else:
            removable.append(member.jid)
    replies: list[Reply] = []
    if removable:
        replies.append(ctx.group_action("remove", targets=removable))
        for jid in removable:  # the moderation log holds every removal the bot carries out
            moderation_log_record(
                session_name=ctx.session_name,
                chat=ctx.chat,
                member=member_key(ctx.group, jid),
                rule="manual",
                action="kick",
                detail=f"by {ctx.user_key}",
            )
        replies.append(ctx.reply(_("Removed %(who)s.") % {"who": _mentions_text(removable)}, mentions=removable))
    if skipped:
        replies.append(ctx.reply(_("Not removed: %(list)s.") % {"list": "; ".join(skipped)}, mentions=ctx.targets))
    return replies


def _digits(item: str) -> str:
    digits = "".join(ch for ch in item if ch not in "+ -().")
    return digits if digits.isdigit() and 5 <= len(digits) <= 16 else ""


def phone_numbers(text: str) -> tuple[list[str], list[str]]:
    """'+1 555 000 1234, 15550000003 hello' -> (['15550001234', '15550000003'], ['hello']).

    Commas separate numbers; a comma-separated part that is not one number (spaces allowed inside,
    as people type them) is read word by word.
    """
    good, bad = [], []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        whole = _digits(part)
        if whole:
            good.append(whole)
            continue
        for word in part.split():
            (good if _digits(word) else bad).append(_digits(word) or word)
    return good, bad


@command(
    "add",
    category="group",
    help="Add people to the group by phone number.",
    usage="<number> [number ...] (international format, digits)",
    who="group_admin",
    where="group",
    bot_admin=True,
    cooldown=10,
)
def add(ctx: CommandContext) -> list[Reply] | Reply:
    numbers, bad = phone_numbers(ctx.arg_text)
    if not numbers:
        return ctx.reply(_("Give at least one phone number. %(usage)s") % {"usage": ctx.usage()})
    jids = [user_jid(n) for n in dict.fromkeys(numbers) if find_member(ctx.group, user_jid(n)) is None]
    replies: list[Reply] = []
    if jids:
        replies.append(ctx.group_action("add", targets=jids))
        replies.append(ctx.reply(_("Adding %(who)s.") % {"who": _mentions_text(jids)}, mentions=jids))
    else:
        replies.append(ctx.reply(_("They are all in the group already.")))
    if bad:
        replies.append(ctx.reply(_("Not phone numbers: %(list)s") % {"list": ", ".join(bad)}))
    return replies


def _change_role(ctx: CommandContext, *, promote: bool) -> list[Reply] | Reply:
    missing = need_targets(ctx)
    if missing:
        return missing
    changed, skipped = [], []
    for jid in ctx.targets:
        member = find_member(ctx.group, jid)
        if member is None:
            skipped.append(_("%(who)s (not in this group)") % {"who": mention(jid)})
        elif promote and member.admin:
            skipped.append(_("%(who)s (already admin)") % {"who": mention(jid)})
        elif not promote and not member.admin:
            skipped.append(_("%(who)s (not an admin)") % {"who": mention(jid)})
        elif not promote and (member.is_super_admin or is_me(ctx, jid)):
            skipped.append(_("%(who)s (cannot be demoted by me)") % {"who": mention(jid)})
        else:
            changed.append(member.jid)
    replies: list[Reply] = []
    if changed:
        replies.append(ctx.group_action("promote" if promote else "demote", targets=changed))
        text = _("%(who)s is now an admin.") if promote else _("%(who)s is no longer an admin.")
        replies.append(ctx.reply(text % {"who": _mentions_text(changed)}, mentions=changed))
    if skipped:
        replies.append(ctx.reply(_("Unchanged: %(list)s.") % {"list": "; ".join(skipped)}, mentions=ctx.targets))
    return replies


@command(
    "promote",
    category="group",
    help="Make members group admins.",
    usage="@member [...]",
    who="group_admin",
    where="group",
    bot_admin=True,
)
def promote(ctx: CommandContext) -> list[Reply] | Reply:
    return _change_role(ctx, promote=True)


@command(
    "demote",
    category="group",
    help="Take admin rights away from members.",
    usage="@member [...]",
    who="group_admin",
    where="group",
    bot_admin=True,
)
def demote(ctx: CommandContext) -> list[Reply] | Reply:
    return _change_role(ctx, promote=False)


@command(
    "groupinfo", aliases=("ginfo",), category="group", help="Name, description, members and admins.", where="group"
)
def groupinfo(ctx: CommandContext) -> Reply:
    group = ctx.group
    assert group is not None
    admins = [p.jid for p in group.participants if p.admin]
    antilink_on = bool(ctx.moderator and ctx.moderator.rulebook.rule(ctx.chat, "antilink").enabled)
    lines = [
        f"*{group.name or _('This group')}*",
        _("Members: %(members)d, admins: %(admins)d") % {"members": len(group.participants), "admins": len(admins)},
        _("Only admins can send messages: %(answer)s") % {"answer": _("yes") if group.announce else _("no")},
        _("Welcome messages: %(welcome)s, antilink: %(antilink)s")
        % {"welcome": _on_off(ctx.state.welcome(ctx.chat)), "antilink": _on_off(antilink_on)},
    ]
    if group.topic:
        lines += ["", group.topic]
    if admins:
        lines += ["", _("Admins: %(list)s") % {"list": " ".join(mention(j) for j in admins)}]
    return ctx.reply("\n".join(lines), mentions=admins)


def _invite(ctx: CommandContext, *, revoke: bool) -> Reply:
    result = ctx.send(ctx.group_action("revoke_link" if revoke else "invite_link"))
    link = (result.detail.get("link") or result.detail.get("invite_link") or "") if result is not None else ""
    if not link:
        return ctx.reply(_("I couldn't get the invite link from WhatsApp right now. Please try again later."))
    if revoke:
        return ctx.reply(_("The old invite link no longer works. New link:\n%(link)s") % {"link": link})
    name = ctx.group.name if ctx.group and ctx.group.name else _("this group")
    return ctx.reply(_("Invite link for *%(group)s*:\n%(link)s") % {"group": name, "link": link})


@command(
    "link",
    aliases=("invite",),
    category="group",
    help="The group's invite link.",
    who="group_admin",
    where="group",
    bot_admin=True,
    cooldown=10,
)
def link(ctx: CommandContext) -> Reply:
    return _invite(ctx, revoke=False)


@command(
    "revoke",
    aliases=("resetlink",),
    category="group",
    help="Reset the invite link (the old one stops working).",
    who="group_admin",
    where="group",
    bot_admin=True,
    cooldown=30,
)
def revoke(ctx: CommandContext) -> Reply:
    return _invite(ctx, revoke=True)


@command(
    "setname",
    aliases=("subject",),
    category="group",
    help="Change the group's name.",
    usage="<new name>",
    who="group_admin",
    where="group",
    bot_admin=True,
    cooldown=10,
)
def setname(ctx: CommandContext) -> list[Reply] | Reply:
    name = ctx.arg_text.strip()
    if not name:
        return ctx.reply(_("Give the new name. %(usage)s") % {"usage": ctx.usage()})
    if len(name) > MAX_NAME:
        return ctx.reply(_("A group name can have at most %(most)d characters.") % {"most": MAX_NAME})
    return [ctx.group_action("name", text=name), ctx.reply(_("Group name changed to *%(name)s*.") % {"name": name})]


@command(
    "setdesc",
    aliases=("setdescription", "settopic"),
    category="group",
    help="Change the group's description.",
    usage="<new description>",
    who="group_admin",
    where="group",
    bot_admin=True,
    cooldown=10,
)
def setdesc(ctx: CommandContext) -> list[Reply] | Reply:
    topic = ctx.arg_text.strip()
    if not topic:
        return ctx.reply(_("Give the new description. %(usage)s") % {"usage": ctx.usage()})
    if len(topic) > MAX_TOPIC:
        return ctx.reply(_("A description can have at most %(most)d characters.") % {"most": MAX_TOPIC})
    return [ctx.group_action("topic", text=topic), ctx.reply(_("Group description updated."))]
