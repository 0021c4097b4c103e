"""Variables of the hot standby: what a worker that waits for a session's lease keeps ready.

Imported by ``blacksky_site.config`` (joined into ``VARIABLES``); read by the ``runbot`` supervisor.
"""

from __future__ import annotations

from blacksky_site.config_parsers import parse_bool
from blacksky_site.variables import Variable

STANDBY: tuple[Variable, ...] = (
    Variable(
        "STANDBY_PREWARM",
        parse_bool,
        "true",
        "A standby worker keeps its bot child started (Django, neonize) while it waits for the lease, so a "
        "takeover skips the child's start (~1 s); costs about one idle child's memory on the standby dyno.",
    ),
)
