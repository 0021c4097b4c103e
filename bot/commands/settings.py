"""Owner commands for runtime settings: ``.setvar NAME=value``, ``.getvar NAME``, ``.delvar NAME``, ``.allvar``.

A value set here is this session's, stored in the database and in effect at once (read through
``bot.runtime_settings``, which checks it with the variable's own parser and bounds). Only the
variables declared with ``chat=True`` can be set; a secret is never shown nor set; the names
other bots use (``PREFIX``, ``HANDLERS``...) are accepted for ours.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot import runtime_settings
from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.runtime_settings import Effective, SettingRefused
from bot.transport.base import Reply

#: Longest value shown in a reply: a list of 100 owner numbers stays readable, a pasted essay does not.
SHOWN_MAX_CHARS = 300


def _source(effective: Effective) -> str:
    if effective.source == runtime_settings.DATABASE:
        return _("set in the chat")
    if effective.source == runtime_settings.ENVIRONMENT:
        if effective.set_as and effective.set_as != effective.name:
            return _("environment, as %(alias)s") % {"alias": effective.set_as}
        return _("environment")
    return _("default")


def _line(effective: Effective) -> str:
    shown = effective.shown()
    if len(shown) > SHOWN_MAX_CHARS:
        shown = shown[: SHOWN_MAX_CHARS - 3] + "..."
    return f"{effective.name} = {shown or '-'} ({_source(effective)})"


def _refused(ctx: CommandContext, exc: SettingRefused) -> Reply:
    hint = _("Send %(command)s for the settings you can change.") % {"command": ctx.prefix + "allvar"}
    return ctx.reply(f"{exc} {hint}")


def split_assignment(text: str) -> tuple[str, str] | None:
    """``'NAME=value'`` or ``'NAME value'`` -> ``('NAME', 'value')``; None without a name."""
    text = text.strip()
    if not text:
        return None
    if "=" in text.split(None, 1)[0]:
        name, _sep, value = text.partition("=")
    else:
        name, _sep, value = text.partition(" ")
    name = name.strip()
    return (name, value.strip()) if name else None


@command(
    "setvar",
    category="owner",
    help="Change a setting for this session, in effect at once.",
    usage="NAME=value",
    who="owner",
)
def setvar(ctx: CommandContext) -> Reply:
    assignment = split_assignment(ctx.arg_text)
    if assignment is None:
        return ctx.reply(_("Write the setting and its value. %(usage)s") % {"usage": ctx.usage()})
    name, raw = assignment
    try:
        checked = runtime_settings.runtime_set_check(name, raw)
        if checked.name == "OWNER_NUMBERS" and ctx.user_key not in checked.value:
            return ctx.reply(
                _("Not changed: your own number must stay in OWNER_NUMBERS, or nobody could change it back here.")
            )
        effective = runtime_settings.runtime_set(session=ctx.session_name, typed=name, raw=raw, set_by=ctx.user_key)
    except SettingRefused as exc:
        return _refused(ctx, exc)
    return ctx.reply(_("Saved: %(line)s. In effect now.") % {"line": _line(effective)})


@command("getvar", category="owner", help="A setting's value and where it comes from.", usage="NAME", who="owner")
def getvar(ctx: CommandContext) -> Reply:
    if not ctx.args:
        return ctx.reply(_("Which setting? %(usage)s") % {"usage": ctx.usage()})
    try:
        variable = runtime_settings.setting_readable(ctx.args[0])
    except SettingRefused as exc:
        return _refused(ctx, exc)
    effective = runtime_settings.runtime_effective(variable.name, session=ctx.session_name)
    if variable.chat:
        return ctx.reply(_line(effective))
    return ctx.reply(_("%(line)s. It can only be changed in the environment.") % {"line": _line(effective)})


@command(
    "delvar",
    category="owner",
    help="Remove the chat's value of a setting: the environment's applies again.",
    usage="NAME",
    who="owner",
)
def delvar(ctx: CommandContext) -> Reply:
    if not ctx.args:
        return ctx.reply(_("Which setting? %(usage)s") % {"usage": ctx.usage()})
    try:
        deleted, effective = runtime_settings.runtime_delete(session=ctx.session_name, typed=ctx.args[0])
    except SettingRefused as exc:
        return _refused(ctx, exc)
    if not deleted:
        return ctx.reply(
            _("%(name)s was not set in the chat: %(line)s.") % {"name": effective.name, "line": _line(effective)}
        )
    return ctx.reply(_("Removed the chat's value: %(line)s.") % {"line": _line(effective)})


@command(
    "allvar",
    aliases=("vars",),
    category="owner",
    help="Every setting you can change here, with its source.",
    who="owner",
)
def allvar(ctx: CommandContext) -> Reply:
    lines = [_("*Settings* (change one with %(command)s NAME=value)") % {"command": ctx.prefix + "setvar"}]
    lines += [_line(effective) for effective in runtime_settings.runtime_all(session=ctx.session_name)]
    return ctx.reply("\n".join(lines))
