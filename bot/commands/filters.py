"""Keyword filters: ``.filter add|list|del`` in a group (its admins), ``.gfilter`` for every chat (owners).

Matching and cooldowns live in ``bot.dispatch.filters``; these commands only store and list.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.dispatch.filters import FilterRefused, filter_create, filter_delete, filters_of, keyword_normalize
from bot.dispatch.registry import command
from bot.transport.base import Reply


def keyword_and_rest(text: str) -> tuple[str, str]:
    """'"good morning" Hi all' -> ('good morning', 'Hi all'); 'hi there you' -> ('hi', 'there you')."""
    text = text.strip()
    if text[:1] in "\"'":
        end = text.find(text[0], 1)
        if end > 0:
            return text[1:end], text[end + 1 :].strip()
    keyword, _sep, rest = text.partition(" ")
    return keyword, rest.strip()


def _manage(ctx: CommandContext, *, chat: str) -> Reply:
    action, _sep, rest = ctx.arg_text.strip().partition(" ")
    action = action.lower()
    where = _("every chat") if not chat else _("this chat")
    if action == "list":
        found = filters_of(session_name=ctx.session_name, chat=chat)
        if not found:
            return ctx.reply(_("No filters in %(where)s.") % {"where": where})
        lines = [_("Filters in %(where)s:") % {"where": where}]
        lines += [f"- {keyword} -> {reply[:60]}{'...' if len(reply) > 60 else ''}" for keyword, reply in found]
        return ctx.reply("\n".join(lines))
    if action == "add":
        keyword, reply = keyword_and_rest(rest)
        try:
            stored = filter_create(
                session_name=ctx.session_name, chat=chat, keyword=keyword, reply=reply, created_by=ctx.sender
            )
        except FilterRefused as exc:
            return ctx.reply(str(exc))
        if ctx.filters is not None:
            ctx.filters.changed(chat)
        return ctx.reply(_("Filter saved: %(keyword)s in %(where)s.") % {"keyword": stored, "where": where})
    if action in ("del", "delete", "remove"):
        keyword, _rest = keyword_and_rest(rest)
        if not filter_delete(session_name=ctx.session_name, chat=chat, keyword=keyword):
            return ctx.reply(_("No filter %(keyword)s in %(where)s.") % {"keyword": keyword[:64], "where": where})
        if ctx.filters is not None:
            ctx.filters.changed(chat)
        return ctx.reply(_("Filter deleted: %(keyword)s.") % {"keyword": keyword_normalize(keyword)})
    return ctx.reply(ctx.usage())


@command(
    "filter",
    aliases=("filters",),
    category="group",
    help="Automatic replies to keywords in this group.",
    usage='add <keyword> <reply> | add "two words" <reply> | list | del <keyword>',
    who="group_admin",
    where="group",
)
def filter_command(ctx: CommandContext) -> Reply:
    return _manage(ctx, chat=ctx.chat)


@command(
    "gfilter",
    category="owner",
    help="Automatic replies to keywords in every chat.",
    usage='add <keyword> <reply> | add "two words" <reply> | list | del <keyword>',
    who="owner",
)
def gfilter(ctx: CommandContext) -> Reply:
    return _manage(ctx, chat="")
