"""Variables of the installable command packs (``bot.dispatch.packs``): which load and how they are kept apart.

Imported by ``blacksky_site.config``, which joins every declaration module into ``VARIABLES``.
"""

from __future__ import annotations

from blacksky_site.config_parsers import parse_whole_between
from blacksky_site.variables import Variable


def parse_module_list(raw: str) -> list[str]:
    """Comma-separated dotted module names (``my_pack.commands``), at most 50, none of ours."""
    modules = [item.strip() for item in raw.split(",") if item.strip()]
    for module in modules:
        parts = module.split(".")
        if not module.isascii() or len(module) > 200 or not all(p.isidentifier() for p in parts):
            raise ValueError("comma-separated Python module names such as my_pack.commands")
        if parts[0] in {"bot", "blacksky_site", "ops", "sessions_store", "media_cdn"}:
            raise ValueError("modules of installed packs, not the bot's own (those load anyway)")
    if len(modules) > 50:
        raise ValueError("at most 50 modules")
    return modules


def parse_name_list(raw: str) -> list[str]:
    """Comma-separated pack names (entry point names), at most 50."""
    names = [item.strip() for item in raw.split(",") if item.strip()]
    if len(names) > 50 or not all(n.isascii() and n.replace("-", "_").isidentifier() for n in names):
        raise ValueError("comma-separated pack names (letters, digits, '_' and '-'), at most 50")
    return names


PACKS: tuple[Variable, ...] = (
    Variable(
        "BOT_PLUGINS",
        parse_module_list,
        "",
        "Command pack modules to load besides the installed entry points (group blacksky.commands), comma-separated.",
    ),
    Variable(
        "BOT_PLUGINS_DISABLED",
        parse_name_list,
        "",
        "Installed command packs not to load, by name, comma-separated.",
    ),
    Variable(
        "PACK_MAX_FAILURES",
        parse_whole_between(1, 100, "failures"),
        "5",
        "Failures in a row after which a command pack is turned off until the bot restarts (the owners are told).",
    ),
    Variable(
        "PACK_RATE_PER_MINUTE",
        parse_whole_between(1, 600, "commands per minute"),
        "20",
        "Commands one command pack may run per minute in one chat (its own budget, beside the per-user limit).",
    ),
)
