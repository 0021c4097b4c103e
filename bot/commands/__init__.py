"""Command modules, one per category; each is imported on first use (see bot.dispatch.registry).

Modules whose names start with ``_`` hold shared data and helpers, not commands.
"""


def _gif_commands() -> object:
    from bot.dispatch.gif_commands import GifCommandSource

    return GifCommandSource()


# Read by bot.dispatch.registry at discovery: commands whose declarations live in rows.
COMMAND_SOURCES = (_gif_commands,)
