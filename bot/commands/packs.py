"""Commands about installed command packs: what is installed and what it needs; on or off per group.

Packs themselves are found by ``bot.dispatch.packs`` and loaded by the registry like these modules.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.dispatch.packs import pack_chat_set, pack_summary
from bot.dispatch.registry import command
from bot.transport.base import Reply


@command("packs", category="core", help="List the installed command packs, what each needs and its commands.")
def packs(ctx: CommandContext) -> Reply:
    installed = ctx.registry.packs
    if not installed:
        return ctx.reply(_("No command packs are installed."))
    guard = ctx.registry.pack_guard
    off_here = guard.off_in_chat(ctx.session_name, ctx.chat) if guard and ctx.is_group else set()
    lines = [_("Installed command packs:")]
    for pack in installed:
        line = "- " + pack_summary(pack, ctx.registry.specs())
        if guard is not None and guard.is_off(pack.name):
            line += " " + _("[off: repeated errors]")
        elif pack.name in off_here:
            line += " " + _("[off in this group]")
        lines.append(line)
    return ctx.reply("\n".join(lines))


@command(
    "pack",
    category="group",
    help="Turn an installed command pack on or off in this group.",
    usage="on|off <pack>",
    who="group_admin",
    where="group",
)
def pack(ctx: CommandContext) -> Reply:
    if len(ctx.args) != 2 or ctx.args[0].lower() not in ("on", "off"):
        return ctx.reply(_("Usage: %(usage)s") % {"usage": f"{ctx.prefix}pack on|off <pack>"})
    switch, name = ctx.args[0].lower(), ctx.args[1]
    known = {p.name for p in ctx.registry.packs}
    if name not in known:
        names = ", ".join(sorted(known)) or _("none")
        return ctx.reply(
            _("No command pack is called %(name)s (installed: %(names)s).") % {"name": name[:64], "names": names}
        )
    pack_chat_set(session=ctx.session_name, chat=ctx.chat, pack=name, enabled=switch == "on")
    if ctx.registry.pack_guard is not None:
        ctx.registry.pack_guard.chat_changed(ctx.session_name, ctx.chat)
    if switch == "on":
        return ctx.reply(_("The command pack %(name)s is on in this group.") % {"name": name})
    return ctx.reply(_("The command pack %(name)s is off in this group.") % {"name": name})
