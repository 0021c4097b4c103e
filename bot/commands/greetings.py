"""Greeting commands for group admins: ``.welcome`` (on/off, set, reset, test, image), ``.goodbye`` (on/off,
set, reset) and ``.rolenotice`` (promote/demote notices). Imported by the bot child's registry.

Templates are checked by ``bot.greeting_templates`` (placeholders, length) before they are stored; the
greetings themselves are built by ``bot.dispatch.greetings`` when members come and go.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.dispatch.greetings import greeting_settings_get, greeting_settings_update, welcome_reply
from bot.dispatch.parsing import parse_on_off
from bot.dispatch.registry import command
from bot.greeting_templates import PLACEHOLDERS, TemplateRefused, template_check
from bot.transport.base import Reply


def _rest(ctx: CommandContext) -> str:
    """Everything after the sub-command word, as typed (new lines kept)."""
    parts = ctx.arg_text.strip().split(None, 1)
    return parts[1] if len(parts) > 1 else ""


def _placeholders() -> str:
    return " ".join("{" + name + "}" for name in PLACEHOLDERS)


def _set_template(ctx: CommandContext, field: str) -> Reply:
    try:
        template = template_check(_rest(ctx))
    except TemplateRefused as refused:
        return ctx.reply(str(refused))
    greeting_settings_update(session_name=ctx.session_name, chat=ctx.chat, **{field: template})
    return ctx.reply(_("Saved. Placeholders you can use: %(names)s.") % {"names": _placeholders()})


@command(
    "welcome",
    category="group",
    help="Greet members who join (and say goodbye), with your own text and the group picture.",
    usage="on|off | set <text> | reset | test | image on|off",
    who="group_admin",
    where="group",
)
def welcome(ctx: CommandContext) -> Reply:
    word = ctx.args[0].lower() if ctx.args else ""
    if word == "set":
        return _set_template(ctx, "welcome_text")
    if word == "reset":
        greeting_settings_update(session_name=ctx.session_name, chat=ctx.chat, welcome_text="")
        return ctx.reply(_("Welcome text reset to the built-in one."))
    if word == "test":
        row = greeting_settings_get(session_name=ctx.session_name, chat=ctx.chat)
        return welcome_reply(ctx.chat, [ctx.sender], row=row, group=ctx.group, prefix=ctx.prefix)
    if word == "image":
        value = parse_on_off(ctx.args[1]) if len(ctx.args) > 1 else None
        if value is None:
            return ctx.reply(ctx.usage())
        greeting_settings_update(session_name=ctx.session_name, chat=ctx.chat, with_image=value)
        if value:
            return ctx.reply(_("Welcomes now come with the group's picture (as text when it has none)."))
        return ctx.reply(_("Welcomes are text only now."))
    value = parse_on_off(word) if word else None
    if value is None:
        state = _("on") if ctx.state.welcome(ctx.chat) else _("off")
        return ctx.reply(_("Welcome messages are %(state)s. %(usage)s") % {"state": state, "usage": ctx.usage()})
    ctx.state.set_group(ctx.chat, welcome=value)
    if value:
        return ctx.reply(_("Welcome messages on: I'll greet new members and say goodbye to those who leave."))
    return ctx.reply(_("Welcome messages off."))


@command(
    "goodbye",
    aliases=("bye",),
    category="group",
    help="Say goodbye to members who leave, with your own text.",
    usage="on|off | set <text> | reset",
    who="group_admin",
    where="group",
)
def goodbye(ctx: CommandContext) -> Reply:
    word = ctx.args[0].lower() if ctx.args else ""
    if word == "set":
        return _set_template(ctx, "goodbye_text")
    if word == "reset":
        greeting_settings_update(session_name=ctx.session_name, chat=ctx.chat, goodbye_text="", goodbye=None)
        return ctx.reply(_("Goodbye text reset; goodbyes follow the welcome switch again."))
    value = parse_on_off(word) if word else None
    if value is None:
        row = greeting_settings_get(session_name=ctx.session_name, chat=ctx.chat)
        on = ctx.state.welcome(ctx.chat) if row.goodbye is None else row.goodbye
        state = _("on") if on else _("off")
        return ctx.reply(_("Goodbye messages are %(state)s. %(usage)s") % {"state": state, "usage": ctx.usage()})
    greeting_settings_update(session_name=ctx.session_name, chat=ctx.chat, goodbye=value)
    return ctx.reply(_("Goodbye messages on.") if value else _("Goodbye messages off."))


@command(
    "rolenotice",
    aliases=("promotenotice",),
    category="group",
    help="Announce when members are made admins or lose admin rights.",
    usage="on|off",
    who="group_admin",
    where="group",
)
def rolenotice(ctx: CommandContext) -> Reply:
    value = parse_on_off(ctx.args[0]) if ctx.args else None
    if value is None:
        row = greeting_settings_get(session_name=ctx.session_name, chat=ctx.chat)
        state = _("on") if row.role_notices else _("off")
        return ctx.reply(_("Promote/demote notices are %(state)s. %(usage)s") % {"state": state, "usage": ctx.usage()})
    greeting_settings_update(session_name=ctx.session_name, chat=ctx.chat, role_notices=value)
    return ctx.reply(_("Promote/demote notices on.") if value else _("Promote/demote notices off."))
