"""``.lang [code|default]``: the language this chat's replies are written in.

Stored per chat in the database (``ChatLanguage``); without one, the session's ``BOT_LANG``
applies. In a group only its admins (and the owners) change it; in a private chat, the person
who writes to the bot does. The answer comes in the language just chosen.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.transport.base import Reply

RESET_WORDS = {"default", "reset", "off", "auto"}


def _choices() -> str:
    return ", ".join(f"{code} ({name})" for code, name in settings.LANGUAGES)


def language_code(word: str) -> str | None:
    """``'ES'``, ``'es-MX'``, ``'es_ES'`` -> ``'es'``; None for a language the bot does not speak."""
    code = word.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in dict(settings.LANGUAGES) else None


def _may_change(ctx: CommandContext) -> bool:
    if not ctx.is_group or ctx.is_owner or ctx.is_group_admin:
        return True
    group = ctx.groups.get(ctx.chat)  # the router only fetches it for admin-only commands
    return group is not None and group.is_admin(ctx.sender, ctx.message.sender_alt)


@command(
    "lang",
    aliases=("language", "idioma"),
    category="core",
    help="The language of my replies in this chat.",
    usage="[en|es|default]",
    cooldown=5,
)
def lang(ctx: CommandContext) -> Reply:
    names = dict(settings.LANGUAGES)
    current = ctx.state.language(ctx.chat)
    if not ctx.args:
        return ctx.reply(
            _("Language here: %(name)s (%(code)s). Available: %(choices)s. Change it with %(usage)s")
            % {"name": names.get(current, current), "code": current, "choices": _choices(), "usage": ctx.usage()}
        )
    word = ctx.args[0][:16]
    code = None if word.lower() in RESET_WORDS else language_code(word)
    if code is None and word.lower() not in RESET_WORDS:
        return ctx.reply(_("I don't speak %(word)s. Available: %(choices)s.") % {"word": word, "choices": _choices()})
    if not _may_change(ctx):
        return ctx.reply(_("Only group admins can change the language of this group."))
    ctx.state.set_language(ctx.chat, code, set_by=ctx.user_key)
    chosen = ctx.state.language(ctx.chat)
    with translation.override(chosen):
        if code is None:
            text = _("This chat follows the bot's language again: %(name)s.") % {"name": names.get(chosen, chosen)}
        else:
            text = _("From now on I answer in %(name)s here.") % {"name": names[code]}
    return ctx.reply(text)
