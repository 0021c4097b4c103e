"""Helpers shared by the group and moderation commands: is this the bot, who is the command about."""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.dispatch.moderation import find_member
from bot.transport.base import Reply, jid_user


def is_me(ctx: CommandContext, jid: str) -> bool:
    me = ctx.bot_jid
    if not me:
        return False
    mine = find_member(ctx.group, me)
    return jid_user(jid) == jid_user(me) or (mine is not None and find_member(ctx.group, jid) is mine)


def need_targets(ctx: CommandContext) -> Reply | None:
    if ctx.targets:
        return None
    return ctx.reply(_("Mention someone or reply to their message. %(usage)s") % {"usage": ctx.usage()})
