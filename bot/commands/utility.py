"""Chat utilities: ``.afk`` (away, with a reason) and ``.poll`` (a real WhatsApp poll).

Imported on first use by the registry (bot child). The away book lives in ``bot.dispatch.afk``
(the router answers mentions of people away and welcomes them back); a poll is a ``Reply`` of
kind ``poll`` that goes through the outbox like every reply, and whatsmeow builds it when sent.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bot.dispatch.afk import MAX_REASON_CHARS
from bot.dispatch.context import CommandContext
from bot.dispatch.moderation import find_member
from bot.dispatch.registry import command
from bot.transport.base import Reply, jid_user

POLL_OPTIONS_MIN, POLL_OPTIONS_MAX = 2, 12  # WhatsApp's bounds on a poll's answers
POLL_QUESTION_MAX = 255  # characters, as WhatsApp's poll composer allows
POLL_OPTION_MAX = 100
_QUOTES = {'"': '"', "\u201c": "\u201d", "'": "'"}


class PollError(ValueError):
    """What is wrong with a poll request, in words for the user."""


def poll_parse(text: str) -> tuple[str, list[str]]:
    """'"Lunch?" pizza | sushi' (or 'Lunch? | pizza | sushi') -> ('Lunch?', ['pizza', 'sushi']); PollError otherwise."""
    text = text.strip()
    close = _QUOTES.get(text[:1])
    end = text.find(close, 1) if close else -1
    if end > 0:
        question, rest = text[1:end].strip(), text[end + 1 :].lstrip(" |")
    else:
        question, _sep, rest = (part.strip() for part in text.partition("|"))
    options = [option.strip() for option in rest.split("|")] if rest.strip() else []
    options = [option for option in options if option]
    if not question:
        raise PollError(_("A poll needs a question."))
    if len(question) > POLL_QUESTION_MAX:
        raise PollError(
            _("The question is %(n)d characters long; WhatsApp allows %(max)d.")
            % {"n": len(question), "max": POLL_QUESTION_MAX}
        )
    if not POLL_OPTIONS_MIN <= len(options) <= POLL_OPTIONS_MAX:
        raise PollError(
            ngettext(
                "A poll needs %(min)d to %(max)d options, separated by |; this one has %(n)d.",
                "A poll needs %(min)d to %(max)d options, separated by |; this one has %(n)d.",
                len(options),
            )
            % {"min": POLL_OPTIONS_MIN, "max": POLL_OPTIONS_MAX, "n": len(options)}
        )
    for number, option in enumerate(options, 1):
        if len(option) > POLL_OPTION_MAX:
            raise PollError(
                _("Option %(number)d is %(n)d characters long; WhatsApp allows %(max)d.")
                % {"number": number, "n": len(option), "max": POLL_OPTION_MAX}
            )
    seen: set[str] = set()
    for option in options:
        if option.casefold() in seen:
            raise PollError(_("Each option must be different: %(option)s is there twice.") % {"option": option})
        seen.add(option.casefold())
    return question, options


@command(
    "poll",
    aliases=("vote",),
    category="utility",
    help="Start a WhatsApp poll (one answer per person).",
    usage='"question" option 1 | option 2 | ...',
    cooldown=10,
)
def poll(ctx: CommandContext) -> Reply:
    if not ctx.arg_text.strip():
        return ctx.reply(ctx.usage())
    try:
        question, options = poll_parse(ctx.arg_text)
    except PollError as exc:
        ctx.wrong_usage = True
        return ctx.reply(f"{exc} {ctx.usage()}")
    return Reply(kind="poll", chat=ctx.chat, text=question, options=tuple(options))


@command(
    "afk",
    aliases=("away",),
    category="utility",
    help="Mark yourself away: whoever mentions you hears why, until you write again.",
    usage="[reason]",
    cooldown=10,
)
def afk(ctx: CommandContext) -> Reply:
    reason = ctx.arg_text.strip()
    if len(reason) > MAX_REASON_CHARS:
        ctx.wrong_usage = True
        return ctx.reply(
            _("That reason is %(n)d characters long; %(max)d at most, please.")
            % {"n": len(reason), "max": MAX_REASON_CHARS}
        )
    if ctx.away is None:
        return ctx.reply(_("Away statuses are not available right now."))
    identities = {jid_user(ctx.sender), ctx.sender_phone}
    if ctx.message.sender_alt:
        identities.add(jid_user(ctx.message.sender_alt))
    member = find_member(ctx.group, ctx.sender) if ctx.group is not None else None
    if member is not None:  # in a LID group, mentions name the LID: know them by every identity
        identities |= {jid_user(member.jid), member.phone, jid_user(member.lid) if member.lid else ""}
    ctx.away.mark(user=ctx.user_key, identities=identities, reason=reason)
    if reason:
        return ctx.reply(_("You're away now. Reason: %(reason)s\nI'll tell whoever mentions you.") % {"reason": reason})
    return ctx.reply(_("You're away now. I'll tell whoever mentions you."))
