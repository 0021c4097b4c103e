"""What users arriving from other WhatsApp bots (Levanter, X-Asena and their family) bring along.

Imported by ``blacksky_site.config``. Their settings are read through ``aliases=`` on our own
variables (docs/aliases.md); their ``SESSION_ID`` is declared here only so that start-up can say
why it is not used (``bot.foreign_session``) and the log redacts it: a Baileys session string
cannot carry a whatsmeow device, so the bot pairs anew.
"""

from __future__ import annotations

from blacksky_site.config_parsers import parse_str
from blacksky_site.variables import Variable

ARRIVAL_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "SESSION_ID",
        parse_str,
        "",
        "Another bot's session string: not used (it cannot carry a whatsmeow session); pair on /pair/ instead.",
        secret=True,
    ),
)
