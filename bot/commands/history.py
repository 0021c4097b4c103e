"""Anti-delete and anti-edit switches: ``.antidelete on|off|to ...|purge`` and ``.antiedit on|off``.

Loaded by the registry in the bot child. Anyone may ask how they are set; in a group the owner or a
group admin may change them, in a private chat the owner; sending the reposts to another chat than ``here`` or ``owner`` is the
owner's alone (it would carry a group's words out of it). The rules that run on every message are
``bot.dispatch.history``; these commands change the session's live keeper, so they take effect at
once.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.dispatch.history import ChatHistory, HistoryKeeper
from bot.dispatch.parsing import parse_on_off
from bot.dispatch.registry import command
from bot.message_cache import message_cache_purge_chat
from bot.models import ChatHistorySetting
from bot.transport.base import GROUP_SERVER, USER_SERVER, Reply, user_jid

Destination = ChatHistorySetting.Destination


def _keeper(ctx: CommandContext) -> HistoryKeeper:
    return HistoryKeeper.live(ctx.session_name) or HistoryKeeper(
        session_name=ctx.session_name, owners=ctx.owners, stats=ctx.stats
    )


def _refusal(ctx: CommandContext) -> Reply | None:
    """None when the sender may change this chat's switches, else the one reply saying who may."""
    if ctx.is_owner:
        return None
    if not ctx.is_group:
        return ctx.reply(_("Only the bot owner can change this in a private chat."))
    group = ctx.group or ctx.groups.get(ctx.chat)
    if group is None:
        return ctx.reply(_("I couldn't read this group's details right now. Please try again in a minute."))
    if not group.is_admin(ctx.sender, ctx.message.sender_alt):
        return ctx.reply(_("Only group admins can change this."))
    return None


def _where(history: ChatHistory) -> str:
    if history.destination == Destination.OWNER:
        return _("the owner's private chat")
    if history.destination == Destination.CHAT:
        return history.destination_chat
    return _("this chat")


def _status(ctx: CommandContext, history: ChatHistory) -> Reply:
    on, off = _("on"), _("off")
    text = _("Anti-delete is %(delete)s, anti-edit is %(edit)s; reposts go to %(where)s. %(usage)s") % {
        "delete": on if history.antidelete else off,
        "edit": on if history.antiedit else off,
        "where": _where(history),
        "usage": ctx.usage(),
    }
    return ctx.reply(text)


def _chat_jid(word: str) -> str:
    """A chat named in ``.antidelete to``: a group or user JID, or a phone number; '' when it is none."""
    word = word.strip()
    if "@" in word:
        user, _at, server = word.partition("@")
        if server in {GROUP_SERVER, USER_SERVER} and user and len(word) <= 128 and user.replace("-", "").isdigit():
            return word
        return ""
    digits = word.lstrip("+")
    return user_jid(digits) if digits.isascii() and digits.isdigit() and 5 <= len(digits) <= 16 else ""


def _destination(ctx: CommandContext, keeper: HistoryKeeper, words: tuple[str, ...]) -> Reply:
    if not words:
        return ctx.reply(ctx.usage())
    choice = words[0].lower()
    if choice == "here":
        fields: dict[str, object] = {"destination": Destination.HERE, "destination_chat": ""}
    elif choice == "owner":
        if not ctx.owners:
            return ctx.reply(_("No owner number is set (OWNER_NUMBERS), so there is no owner's chat to send to."))
        fields = {"destination": Destination.OWNER, "destination_chat": ""}
    else:
        if not ctx.is_owner:
            return ctx.reply(_("Only the bot owner can send reposts to another chat; admins can choose here or owner."))
        target = _chat_jid(words[0])
        if not target:
            return ctx.reply(
                _("%(word)s is not a chat. Give a group JID, a user JID or a phone number.") % {"word": words[0][:60]}
            )
        fields = {"destination": Destination.CHAT, "destination_chat": target}
    history, _purged = keeper.chat_set(ctx.chat, changed_by=ctx.user_key, **fields)
    return ctx.reply(_("Reposts of deleted and edited messages now go to %(where)s.") % {"where": _where(history)})


@command(
    "antidelete",
    aliases=("antidel",),
    category="history",
    help="Show again messages deleted for everyone (opt-in per chat).",
    usage="on|off|to here|owner|<chat>|purge",
)
def antidelete(ctx: CommandContext) -> Reply:
    keeper = _keeper(ctx)
    if not ctx.args:
        return _status(ctx, keeper.chat(ctx.chat))  # anyone may ask how it is set
    refusal = _refusal(ctx)
    if refusal is not None:
        return refusal
    word = ctx.args[0].lower()
    if word == "to":
        return _destination(ctx, keeper, ctx.args[1:])
    if word == "purge":
        removed = message_cache_purge_chat(session_name=ctx.session_name, chat=ctx.chat)
        return ctx.reply(_("Forgot %(n)d kept message(s) of this chat.") % {"n": removed})
    value = parse_on_off(word)
    if value is None:
        return ctx.reply(ctx.usage())
    history, purged = keeper.chat_set(ctx.chat, changed_by=ctx.user_key, antidelete=value)
    if value:
        return ctx.reply(
            _(
                "Anti-delete on: messages here are kept encrypted for %(hours)d h, and a message deleted for "
                "everyone is shown again in %(where)s."
            )
            % {"hours": settings.ANTIDELETE_TTL_HOURS, "where": _where(history)}
        )
    if purged:
        return ctx.reply(
            _("Anti-delete off; anti-edit is off too, so the %(n)d kept message(s) are forgotten.") % {"n": purged}
        )
    return ctx.reply(_("Anti-delete off."))


@command(
    "antiedit",
    category="history",
    help="Show the text a message had before it was edited (opt-in per chat).",
    usage="on|off",
)
def antiedit(ctx: CommandContext) -> Reply:
    keeper = _keeper(ctx)
    value = parse_on_off(ctx.args[0]) if ctx.args else None
    if value is None:
        return _status(ctx, keeper.chat(ctx.chat))
    refusal = _refusal(ctx)
    if refusal is not None:
        return refusal
    history, purged = keeper.chat_set(ctx.chat, changed_by=ctx.user_key, antiedit=value)
    if value:
        return ctx.reply(
            _("Anti-edit on: when a message here is edited, its earlier text is shown in %(where)s.")
            % {"where": _where(history)}
        )
    if purged:
        return ctx.reply(
            _("Anti-edit off; anti-delete is off too, so the %(n)d kept message(s) are forgotten.") % {"n": purged}
        )
    return ctx.reply(_("Anti-edit off."))
