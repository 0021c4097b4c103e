"""When a scheduled message goes out: the ``<when>`` of ``.schedule`` parsed into a ``Rule``, and each
rule's next occurrence; pure (the clock and the time zone are arguments). Imported by the bot child
(the commands check it before anything is stored) and by the worker's django-q2 task (re-arming).

Forms: ``in 10m`` / ``in 1h30m``, ``at 18:30`` (today), ``at 2026-12-24 18:30``, ``tomorrow 09:00``,
``daily 08:00``, ``weekdays 07:30``, ``mon,wed 19:00`` / ``mon-fri 19:00``, ``every 90m``, and a cron
expression of five fields. Local times are the chat's zone; occurrences are UTC instants, at most one
a minute (no form names seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from bot.cron import CronError, looks_like_field, parse_cron

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_AHEAD = timedelta(days=366)
MAX_EVERY_MINUTES = 60 * 24 * 31
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_SPAN = re.compile(r"^(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,6})m(?:in)?)?$")
_SECONDS = re.compile(r"^\d{1,9}(?:s|sec|secs|second|seconds)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}$")


class WhenError(ValueError):
    """A ``<when>`` that cannot be scheduled; ``str()`` is the translated sentence for the chat."""


@dataclass(frozen=True)
class Rule:
    """One schedule's timing: ``once`` (``at``), ``weekly`` (``days`` 0 = Monday, local ``clock``),
    ``cron`` (``expr``) or ``every`` (``minutes`` from ``at``)."""

    kind: str
    at: datetime | None = None
    days: tuple[int, ...] = ()
    clock: str = ""
    expr: str = ""
    minutes: int = 0

    def to_json(self) -> dict:
        data: dict = {"kind": self.kind}
        if self.at is not None:
            data["at"] = self.at.astimezone(UTC).isoformat()
        if self.days:
            data["days"] = list(self.days)
        if self.clock:
            data["clock"] = self.clock
        if self.expr:
            data["expr"] = self.expr
        if self.minutes:
            data["minutes"] = self.minutes
        return data

    @classmethod
    def from_json(cls, data: dict) -> Rule:
        at = datetime.fromisoformat(data["at"]) if data.get("at") else None
        return cls(
            kind=data["kind"],
            at=at,
            days=tuple(data.get("days", ())),
            clock=data.get("clock", ""),
            expr=data.get("expr", ""),
            minutes=int(data.get("minutes", 0)),
        )

    @property
    def repeats(self) -> bool:
        return self.kind != "once"

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first occurrence strictly after ``after`` (aware), in UTC; None when there is none."""
        if self.kind == "once":
            return self.at if self.at is not None and self.at > after else None
        if self.kind == "every":
            assert self.at is not None and self.minutes > 0
            if self.at > after:
                return self.at
            steps = int((after - self.at) / timedelta(minutes=self.minutes)) + 1
            return self.at + steps * timedelta(minutes=self.minutes)
        if self.kind == "cron":
            return parse_cron(self.expr).next_after(after, tz)
        hour, minute = (int(part) for part in self.clock.split(":"))
        day = after.astimezone(tz).date()
        for offset in range(8 + 1):
            candidate = day + timedelta(days=offset)
            if candidate.weekday() in self.days:
                moment = _local(candidate, hour, minute, tz)
                if moment > after:
                    return moment
        return None

    def describe(self, tz: ZoneInfo) -> str:
        """The rule in a few words for ``.schedules`` (local times)."""
        if self.kind == "once":
            assert self.at is not None
            return _("once, %(when)s") % {"when": self.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")}
        if self.kind == "every":
            return _("every %(minutes)d min") % {"minutes": self.minutes}
        if self.kind == "cron":
            return _("cron %(expr)s") % {"expr": self.expr}
        if len(self.days) == 7:
            return _("daily at %(clock)s") % {"clock": self.clock}
        return _("%(days)s at %(clock)s") % {"days": ",".join(DAY_NAMES[d] for d in self.days), "clock": self.clock}


@dataclass(frozen=True)
class Parsed:
    rule: Rule
    text: str  # what is left after the <when>: the message
    first: datetime  # the first occurrence, UTC


def _local(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def zone_named(name: str) -> ZoneInfo:
    """'Europe/Berlin' -> its ``ZoneInfo``; ``WhenError`` for anything the tz database does not know."""
    if not (name.isascii() and len(name) <= 64 and _ZONE.match(name)):
        raise WhenError(
            _("%(name)s is not a time zone. Use a name like Europe/Berlin or America/New_York.") % {"name": name[:64]}
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise WhenError(
            _("%(name)s is not a time zone I know. Use a name like Europe/Berlin or America/New_York.") % {"name": name}
        ) from None


def parse_clock(text: str) -> tuple[int, int]:
    """'18:30' -> (18, 30); ``WhenError`` for '25:61' or anything that is not HH:MM."""
    match = _CLOCK.match(text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise WhenError(_("%(text)s is not a time of day: use HH:MM from 00:00 to 23:59.") % {"text": text[:20]})
    return int(match[1]), int(match[2])


def parse_span(text: str) -> timedelta:
    """'10m', '2h', '1h30m', '3d' -> a duration of at least a minute; ``WhenError`` otherwise."""
    lowered = text.lower()
    if _SECONDS.match(lowered):
        raise WhenError(_("%(text)s is too short: the shortest interval is one minute.") % {"text": text})
    match = _SPAN.match(lowered)
    if not lowered or not match or not any(match.groups()):
        raise WhenError(_("%(text)s is not a duration: write it like 10m, 2h, 1h30m or 3d.") % {"text": text[:20]})
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes)
    if span < timedelta(minutes=1):
        raise WhenError(_("%(text)s is too short: the shortest interval is one minute.") % {"text": text})
    return span


def parse_days(text: str) -> tuple[int, ...] | None:
    """'mon,wed' / 'mon-fri' / 'daily' / 'weekdays' / 'weekends' -> weekday numbers (0 = Monday); None if not days."""
    lowered = text.lower()
    named = {"daily": range(7), "everyday": range(7), "weekdays": range(5), "weekends": (5, 6)}
    if lowered in named:
        return tuple(named[lowered])
    days: set[int] = set()
    for part in lowered.split(","):
        first, dash, last = part.partition("-")
        if first[:3] not in DAY_NAMES or (dash and last[:3] not in DAY_NAMES):
            return None
        start = DAY_NAMES.index(first[:3])
        end = DAY_NAMES.index(last[:3]) if dash else start
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
    return tuple(sorted(days))


def parse_when(text: str, *, now: datetime, tz: ZoneInfo) -> Parsed:
    """``'<when> <message>'`` -> ``Parsed``; ``WhenError`` with the sentence to answer otherwise.

    Nothing is stored by this function: the command stores only what it returned.
    """
    words = text.split()
    if not words:
        raise WhenError(
            _("Say when: in 10m, at 18:30, tomorrow 09:00, daily 08:00, mon,wed 19:00 or a cron expression.")
        )
    skip = 1 if words[0].lower() == "cron" else 0
    words = words[skip:]
    head = words[0].lower() if words else ""

    def rest(used: int) -> str:
        parts = text.split(None, skip + used)
        return parts[skip + used] if len(parts) > skip + used else ""

    cron_fields = 0
    while cron_fields < len(words) and looks_like_field(words[cron_fields]) and not _CLOCK.match(words[cron_fields]):
        cron_fields += 1
    if skip or cron_fields >= 2 or (cron_fields == 1 and head in ("*", "?")):
        return _cron(words, cron_fields, rest(5), now=now, tz=tz)
    arg = words[1] if len(words) > 1 else ""
    if head == "in":
        return _once(now + parse_span(arg), rest(2), now=now, when=f"in {arg}")
    if head == "every":
        span = parse_span(arg)
        minutes = int(span.total_seconds() // 60)
        if minutes > MAX_EVERY_MINUTES:
            raise WhenError(
                _("every %(text)s is too long: use daily, a weekday list or a cron expression.") % {"text": arg}
            )
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=minutes)
        return _parsed(Rule(kind="every", at=start, minutes=minutes), rest(2), now=now, tz=tz)
    if head in ("at", "on") and len(words) > 2 and _DATE.match(arg):
        try:
            day = date.fromisoformat(arg)
        except ValueError:
            raise WhenError(_("%(text)s is not a date: use YYYY-MM-DD.") % {"text": arg}) from None
        hour, minute = parse_clock(words[2])
        return _once(_local(day, hour, minute, tz), rest(3), now=now, when=f"{arg} {words[2]}")
    if head in ("at", "today", "tomorrow"):
        hour, minute = parse_clock(arg)
        day = now.astimezone(tz).date() + timedelta(days=1 if head == "tomorrow" else 0)
        return _once(_local(day, hour, minute, tz), rest(2), now=now, when=arg)
    days = parse_days(head)
    if days is not None and arg:
        hour, minute = parse_clock(arg)
        rule = Rule(kind="weekly", days=days, clock=f"{hour:02d}:{minute:02d}")
        return _parsed(rule, rest(2), now=now, tz=tz)
    raise WhenError(
        _(
            "I can't read %(when)s as a time. Use in 10m, at 18:30, tomorrow 09:00, daily 08:00, "
            "mon,wed 19:00 or a cron expression."
        )
        % {"when": " ".join(words[:2])[:40]}
    )


def daily_at(clock: str, text: str, *, now: datetime, tz: ZoneInfo) -> Parsed:
    """Every day at ``clock`` (HH:MM, checked) in ``tz``: the timing of ``.automute``."""
    hour, minute = parse_clock(clock)
    return _parsed(Rule(kind="weekly", days=tuple(range(7)), clock=f"{hour:02d}:{minute:02d}"), text, now=now, tz=tz)


def once_in(span: str, text: str, *, now: datetime) -> Parsed:
    """Once, ``span`` (a checked duration) from ``now``: the end of ``.mute 30m``."""
    return _once(now + parse_span(span), text, now=now, when=f"in {span}")


def _cron(words: list[str], count: int, rest: str, *, now: datetime, tz: ZoneInfo) -> Parsed:
    if count != 5:
        raise WhenError(
            _("A cron expression has 5 fields (minute hour day month weekday); this one has %(count)d.")
            % {"count": count}
        )
    try:
        cron = parse_cron(" ".join(words[:5]))
    except CronError as exc:
        raise WhenError(_("That cron expression is not valid: %(why)s.") % {"why": exc}) from None
    return _parsed(Rule(kind="cron", expr=cron.text), rest, now=now, tz=tz)


def _once(first: datetime, rest: str, *, now: datetime, when: str) -> Parsed:
    if first <= now:
        raise WhenError(_("%(when)s has already passed. Pick a time in the future (or use tomorrow).") % {"when": when})
    if first - now > MAX_AHEAD:
        raise WhenError(_("That is more than a year ahead; pick a nearer time."))
    return Parsed(rule=Rule(kind="once", at=first), text=rest, first=first)


def _parsed(rule: Rule, rest: str, *, now: datetime, tz: ZoneInfo) -> Parsed:
    first = rule.next_after(now, tz)
    if first is None:
        raise WhenError(_("That schedule never comes round (no such date). Check the day and month."))
    return Parsed(rule=rule, text=rest, first=first)
