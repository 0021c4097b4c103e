"""Unit conversions: the example command pack, loaded by the bot's registry through its entry point.

``PACK_NEEDS`` says what the pack does (here: it only sends replies); the bot shows it in ``.packs``.
Declarations are literal ``@command(...)`` calls, so the menu lists them before the module is imported.
"""

from __future__ import annotations

from blacksky_pack_units.conversions import ConversionError, convert
from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.transport.base import Reply

PACK_NEEDS = ("send",)


@command("convert", aliases=("conv",), category="tools", help="Convert a value between units.", usage="10 km mi")
def convert_command(ctx: CommandContext) -> Reply:
    if len(ctx.args) != 3:
        return ctx.reply(f"Usage: {ctx.prefix}convert <value> <from> <to>, e.g. {ctx.prefix}convert 10 km mi")
    value, source, target = ctx.args
    try:
        result = convert(value, source, target)
    except ConversionError as exc:
        return ctx.reply(str(exc))
    return ctx.reply(f"{value} {source} = {result:.6g} {target}")
