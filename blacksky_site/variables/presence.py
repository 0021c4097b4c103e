"""Variables of calls, presence, read receipts, status views and who may use the bot.

Imported by ``blacksky_site.config``. The bot child reads them through ``bot.runtime_settings``
(each is settable from the chat with ``.setvar``): ``bot.dispatch.access``, ``bot.dispatch.calls``,
``bot.dispatch.receipts``, ``bot.child.runtime``. Other bots' names are ``aliases``.
"""

from __future__ import annotations

from collections.abc import Callable

from blacksky_site.config_parsers import parse_bool, parse_digits_list, parse_text
from blacksky_site.variables import Alias, Variable, alias_switch


def parse_choice(*choices: str) -> Callable[[str], str]:
    """One of ``choices`` (case-insensitive), lower-cased."""

    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError("one of " + ", ".join(choices))
        return value

    return parse


PRESENCE_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "REJECT_CALLS",
        parse_bool,
        "false",
        "Reject incoming WhatsApp calls (owners and CALL_ALLOW never).",
        chat=True,
        aliases=(Alias("REJECT_CALL", note="the same true/false"),),
    ),
    Variable(
        "CALL_REJECT_MESSAGE",
        parse_text(1, 500),
        "I can't take calls. Please send a message instead.",
        "What a rejected caller is told, at most once an hour per caller.",
        chat=True,
    ),
    Variable(
        "CALL_ALLOW", parse_digits_list, "", "Comma-separated phone numbers whose calls are never rejected.", chat=True
    ),
    Variable(
        "PRESENCE",
        parse_choice("unavailable", "online"),
        "unavailable",
        "Presence sent after connecting: unavailable (the phone keeps its notifications) or online.",
        chat=True,
        aliases=(
            Alias("ALWAYS_ONLINE", alias_switch("online", "unavailable"), note="true as online, false as unavailable"),
        ),
    ),
    Variable("READ_RECEIPTS", parse_bool, "false", "Mark messages that ran a command as read (blue ticks).", chat=True),
    Variable(
        "AUTO_STATUS_VIEW", parse_bool, "false", "View contacts' status updates automatically (opt-in).", chat=True
    ),
    Variable(
        "STATUS_VIEW_ALLOW",
        parse_digits_list,
        "",
        "Comma-separated phone numbers whose statuses are viewed; empty = everyone's (minus STATUS_VIEW_DENY).",
        chat=True,
    ),
    Variable(
        "STATUS_VIEW_DENY",
        parse_digits_list,
        "",
        "Comma-separated phone numbers whose statuses are never viewed.",
        chat=True,
    ),
    Variable(
        "BOT_MODE",
        parse_choice("public", "private"),
        "public",
        "public: everyone may run commands; private: only owners and SUDO_NUMBERS.",
        chat=True,
        aliases=(Alias("MODE", note="public or private"), Alias("WORK_TYPE", note="public or private")),
    ),
    Variable(
        "SUDO_NUMBERS",
        parse_digits_list,
        "",
        "Comma-separated phone numbers with owner rights except the owner-only maintenance commands.",
        chat=True,
        aliases=(Alias("SUDO", note="comma-separated numbers, as ours"),),
    ),
)
