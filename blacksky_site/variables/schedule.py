"""Variables of scheduled messages and timed mutes: the session's time zone and the limits.

Imported by ``blacksky_site.config``; the bot child reads them through settings when a command
stores a schedule, the worker's django-q2 task when an occurrence is due.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from blacksky_site.config_parsers import parse_whole_between
from blacksky_site.variables import Variable

_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}$")


def parse_time_zone(raw: str) -> str:
    """An IANA time zone name the tz database knows ('Europe/Berlin', 'UTC')."""
    value = raw.strip()
    try:
        if not (value.isascii() and len(value) <= 64 and _ZONE_NAME.match(value)):
            raise ValueError
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError, OSError):
        raise ValueError("an IANA time zone name such as Europe/Berlin or UTC") from None
    return value


SCHEDULE: tuple[Variable, ...] = (
    Variable(
        "SCHEDULE_TIME_ZONE",
        parse_time_zone,
        "UTC",
        "Time zone of this session's schedules and timed mutes (IANA name, e.g. Europe/Berlin); a chat's .tz overrides it.",
        chat=True,  # an owner sets the session's zone with .setvar; a group its own with .tz
    ),
    Variable(
        "SCHEDULE_MISSED_MAX_MINUTES",
        parse_whole_between(0, 1440, "minutes"),
        "30",
        "A scheduled message missed while the bot was down is sent on return if at most this many minutes late, else recorded as skipped; 0-1440.",
    ),
    Variable(
        "SCHEDULE_MAX_PER_CHAT",
        parse_whole_between(1, 100, "schedules"),
        "10",
        "Scheduled messages one chat may have at once (timed mutes count too); 1-100.",
    ),
)
