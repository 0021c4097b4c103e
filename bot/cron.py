"""Five-field cron expressions (minute hour day month weekday), pure; imported by the bot child (checking
``.schedule``) and by the worker's django-q2 tasks (the next occurrence).

croniter is not installed, and django-q2's own cron type would read the expression in the server's
time zone: our schedules follow the chat's time zone through daylight saving, so the fields are
matched against local wall-clock times here. Parsing is bounded (a field of at most 100 characters,
values checked against their range) and the search for the next time looks at most ``SEARCH_DAYS``
days ahead, so no expression costs more than a few thousand steps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
NAMES = (
    {},
    {},
    {},
    {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())},
)
FIELD_CHARS = frozenset("0123456789*,/-abcdefghijklmnopqrstuvwxyz?")
MAX_FIELD = 100
SEARCH_DAYS = 366 * 5  # a 29 February fits in five years; anything rarer "never" happens


class CronError(ValueError):
    """The expression is not five valid fields; ``str()`` says which part is wrong (translated)."""


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the allowed values of each field (weekday 0 = Sunday, 7 folded into 0)."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month was '*'
    any_weekday: bool  # day of week was '*'

    def day_matches(self, day: date) -> bool:
        """Cron's rule: when both day fields are restricted, either one matching is enough."""
        if day.month not in self.months:
            return False
        weekday = (day.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
        in_month = day.day in self.days
        in_week = weekday in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return in_week
        if self.any_weekday:
            return in_month
        return in_month or in_week

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first matching minute strictly after ``after`` (aware), in UTC; None if none in ``SEARCH_DAYS``."""
        local = after.astimezone(tz)
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        # Today, wall-clock times before now cannot come after it, unless the clocks go back tonight
        # (a fold: the same wall hour twice), when the whole day is looked at.
        folds = tz.utcoffset(local.replace(tzinfo=None, fold=0)) != tz.utcoffset(local.replace(tzinfo=None, fold=1))
        start = (0, 0) if folds else (local.hour, local.minute)
        for offset in range(SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if not self.day_matches(day):
                continue
            for hour in hours:
                if offset == 0 and hour < start[0]:
                    continue
                for minute in minutes:
                    if offset == 0 and hour == start[0] and minute < start[1]:
                        continue
                    moment = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
                    if moment > after:
                        return moment
        return None


def looks_like_field(token: str) -> bool:
    """True for a word that can only be a cron field (digits, '*', ',', '/', '-' and no letters but names)."""
    lowered = token.lower()
    if not lowered or any(ch not in FIELD_CHARS for ch in lowered):
        return False
    if any(ch.isalpha() for ch in lowered):
        parts = lowered.replace("-", ",").replace("/", ",").split(",")
        return all(p in NAMES[3] or p in NAMES[4] or p.isdigit() or p == "*" for p in parts)
    return True


@functools.lru_cache(maxsize=256)  # a schedule's next runs are asked for again and again
def parse_cron(text: str) -> Cron:
    """'*/15 8-18 * * mon-fri' -> ``Cron``; raises ``CronError`` naming the bad field."""
    fields = text.split()
    if len(fields) != 5:
        raise CronError(
            _("a cron expression has 5 fields (minute hour day month weekday), this one has %(count)d")
            % {"count": len(fields)}
        )
    values = [_field(raw, index) for index, raw in enumerate(fields)]
    weekdays = frozenset(0 if d == 7 else d for d in values[4])
    return Cron(
        text=" ".join(fields),
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        any_day=fields[2] in ("*", "?"),
        any_weekday=fields[4] in ("*", "?"),
    )


def _field(raw: str, index: int) -> frozenset[int]:
    name = FIELDS[index]
    low, high = RANGES[index]
    if len(raw) > MAX_FIELD:
        raise CronError(_("the %(field)s field is too long") % {"field": name})
    result: set[int] = set()
    for part in raw.lower().split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if (
                not (step_text.isascii() and step_text.isdigit())
                or len(step_text) > 2
                or not 1 <= int(step_text) <= high
            ):
                raise CronError(_("the %(field)s field has a bad step %(step)r") % {"field": name, "step": step_text})
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _dash, last = base.partition("-")
            start, end = _value(first, index), _value(last, index)
            if start > end:
                raise CronError(_("the %(field)s range %(range)r runs backwards") % {"field": name, "range": base})
        else:
            start = _value(base, index)
            end = high if slash else start
        result.update(range(start, end + 1, step))
    if not result:
        raise CronError(_("the %(field)s field matches nothing") % {"field": name})
    return frozenset(result)


def _value(text: str, index: int) -> int:
    low, high = RANGES[index]
    if text in NAMES[index]:
        return NAMES[index][text]
    if not (text.isascii() and text.isdigit()) or len(text) > 2 or not low <= int(text) <= high:
        raise CronError(
            _("%(value)r is not a %(field)s (%(low)d-%(high)d)")
            % {"value": text, "field": FIELDS[index], "low": low, "high": high}
        )
    return int(text)
