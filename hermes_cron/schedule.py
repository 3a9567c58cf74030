"""When a job runs: cron expressions, intervals and one-shots, in the user's time zone.

Three kinds of schedule, told apart by how they are written:

- a cron expression of five fields (`0 8 * * 1-5`), read on the wall clock of the user's time
  zone, as cron does: on the day the clocks go back, a time that happens twice runs once (the
  first time); on the day they go forward, a time that does not exist runs at the change;
- an interval, `every 30m` / `every 2h` / `every 1d` (also `s`, and words: `every 2 hours`),
  counted from the job's creation in real time, whatever the clocks do;
- a one-shot, `in 30m` (from creation) or a date and time (`2026-12-24T09:00`, in the user's
  time zone unless it names an offset).

`next_after(t)` is the first slot strictly after `t` (None when a one-shot is spent). Times are
aware datetimes; the store keeps them as UTC epoch seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hermes_agent.errors import BadRequest

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WORDS = {"sec": "s", "second": "s", "min": "m", "minute": "m", "hour": "h", "day": "d"}
_SPAN = re.compile(r"(\d{1,6})\s*([a-z]+)")
MIN_INTERVAL = 60  # seconds: a job is a conversation with a model, not a busy loop
Kind = Literal["cron", "every", "once"]


@dataclass(frozen=True)
class Schedule:
    kind: Kind
    text: str  # as the user wrote it (normalised), for display and editing
    expression: str = ""  # cron
    seconds: int = 0  # every
    at: datetime | None = None  # once
    anchor: datetime | None = None  # every: counted from here

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        if self.kind == "once":
            return self.at if self.at is not None and self.at > after else None
        if self.kind == "every":
            anchor = self.anchor or after
            steps = max(0, int((after - anchor).total_seconds() // self.seconds) + 1)
            return anchor + timedelta(seconds=steps * self.seconds)
        return _next_cron(self.expression, after, tz)

    def describe(self, tz: ZoneInfo) -> str:
        """The schedule in words: "At 08:00 AM, Monday through Friday (Europe/Lisbon)"."""
        if self.kind == "once":
            assert self.at is not None
            return "Once, at " + self.at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
        if self.kind == "every":
            return f"Every {_span_words(self.seconds)}"
        from cron_descriptor import Options, get_description

        options = Options()
        options.use_24hour_time_format = True
        return f"{get_description(self.expression, options)} ({tz.key})"


def parse(text: str, tz: ZoneInfo, now: datetime) -> Schedule:
    """The schedule `text` names, created at `now`. Raises BadRequest saying how to write one."""
    now = now.astimezone(UTC)  # spans are real time: no wall-clock arithmetic
    cleaned = " ".join(str(text).split()).lower()
    if not cleaned:
        raise BadRequest("the schedule is empty")
    if cleaned.startswith("every "):
        seconds = _span(cleaned[6:])
        if seconds < MIN_INTERVAL:
            raise BadRequest("an interval must be at least a minute")
        return Schedule("every", f"every {_span_text(seconds)}", seconds=seconds, anchor=now)
    if cleaned.startswith("in "):
        seconds = _span(cleaned[3:])
        return Schedule("once", cleaned, at=now + timedelta(seconds=seconds))
    if len(cleaned.split()) == 5:
        return Schedule("cron", cleaned, expression=_checked_cron(cleaned))
    return Schedule("once", cleaned, at=_moment(str(text).strip(), tz))


def restore(
    kind: Kind, text: str, tz: ZoneInfo, created: datetime, at: datetime | None
) -> Schedule:
    """A stored schedule as it was parsed (a one-shot keeps its moment, an interval its
    anchor: parsing "in 30m" again later would move it)."""
    if kind == "once":
        return Schedule("once", text, at=at)
    return parse(text, tz, created)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"{name!r} is not a time zone; use a name like Europe/Lisbon") from None


def _span(text: str) -> int:
    parts = _SPAN.findall(text.replace(" and ", " ").replace(",", " "))
    rest = _SPAN.sub("", text.replace(" and ", " ").replace(",", " ")).strip()
    if not parts or rest:
        raise BadRequest(f"{text!r} is not a span of time; write it like 30m, 2h or 1d")
    total = 0
    for number, unit in parts:
        key = _unit(unit)
        if key is None:
            raise BadRequest(f"{unit!r} is not a unit; use s, m, h or d")
        total += int(number) * UNITS[key]
    if total <= 0:
        raise BadRequest("a span of time must be more than zero")
    return total


def _unit(word: str) -> str | None:
    if word in UNITS:
        return word
    return next((u for w, u in _WORDS.items() if word in (w, w + "s")), None)


def _span_text(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


def _span_words(seconds: int) -> str:
    names = {"d": "day", "h": "hour", "m": "minute", "s": "second"}
    text = _span_text(seconds)
    count, unit = int(text[:-1]), text[-1]
    return f"{names[unit]}" if count == 1 else f"{count} {names[unit]}s"


def _checked_cron(expression: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(expression):
        raise BadRequest(
            f"{expression!r} is not a cron expression (minute hour day month weekday, "
            "like 0 8 * * 1-5)"
        )
    return expression


def _moment(text: str, tz: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise BadRequest(
            f"{text!r} is not a schedule: write a cron expression (0 8 * * 1-5), an interval "
            "(every 2h), a delay (in 30m) or a date and time (2026-12-24T09:00)"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _next_cron(expression: str, after: datetime, tz: ZoneInfo) -> datetime:
    """The first slot after `after` on the wall clock of `tz`, once per wall-clock time."""
    from croniter import croniter

    local = after.astimezone(tz)
    slots = croniter(expression, local)
    while True:
        slot = slots.get_next(datetime)
        repeat = slot.replace(tzinfo=None) == local.replace(tzinfo=None)
        if slot > after and not (repeat and slot.utcoffset() != local.utcoffset()):
            return slot.astimezone(UTC)
