"""``CronSchedule`` on croniter, with daylight-saving handled through zoneinfo.

croniter only walks wall-clock minutes here (on naive times, where no DST exists); this
module maps each wall-clock match to UTC instants itself, so the rules are explicit:

- A wall-clock time skipped when clocks go forward fires once, shifted forward by the
  gap: ``30 2 * * *`` in Europe/Berlin fires at 03:30 CEST on the last Sunday of March.
- A wall-clock time repeated when clocks go back fires once, at its first occurrence,
  unless the hour field is ``*``: then the schedule follows real time and fires in both
  passes (``*/15 * * * *`` keeps firing every 15 minutes through the repeated hour).

Expressions have the five standard fields (minute hour day-of-month month day-of-week)
or one of ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``,
``@midnight``, ``@hourly``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from domain.config.model import Trigger
from domain.triggers.errors import InvalidScheduleError

_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Offset changes within this distance of an instant can reorder wall-clock times near it.
# Wider than any UTC offset change (2h at most, Antarctica/Troll) plus slack.
_NEAR = timedelta(hours=4)
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)


class CroniterSchedule:
    """One cron expression in one IANA timezone. See :class:`domain.triggers.CronSchedule`."""

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        self.expression = expression
        self.timezone = timezone
        self._fields = _expand(expression)
        self._zone = _zone(timezone)
        self._repeats_hourly = self._fields.split()[1] == "*"
        self._template = _parse(expression, self._fields)

    @classmethod
    def for_trigger(cls, trigger: Trigger) -> CroniterSchedule:
        if not trigger.schedule:
            raise InvalidScheduleError("cron trigger has no schedule")
        return cls(trigger.schedule, trigger.timezone)

    def __repr__(self) -> str:
        return f"CroniterSchedule({self.expression!r}, {self.timezone!r})"

    def next(self, after: datetime) -> datetime:
        moment = _utc(after)
        start = self._wall(moment) - self._margin(moment)
        return self._scan(start, forward=True, accept=lambda t: t > moment)

    def previous(self, at: datetime) -> datetime:
        moment = _utc(at)
        minute_end = self._wall(moment).replace(second=0, microsecond=0) + timedelta(minutes=1)
        start = minute_end + self._margin(moment)
        return self._scan(start, forward=False, accept=lambda t: t <= moment)

    def _scan(self, start: datetime, forward: bool, accept: Callable[[datetime], bool]) -> datetime:
        # croniter's start is exclusive; walls are naive local times dressed as UTC
        # so croniter applies no DST of its own.
        walk = copy.copy(self._template)  # parsing is the costly part; copies share it
        walk.set_current(start.replace(tzinfo=UTC), force=True)
        best: datetime | None = None
        best_wall = start
        while True:
            wall = (walk.get_next if forward else walk.get_prev)(datetime).replace(tzinfo=None)
            if best is not None and abs(wall - best_wall) > self._margin(best):
                return best
            for instant in self._instants(wall):
                if accept(instant) and (best is None or (instant < best) == forward):
                    best, best_wall = instant, wall

    def _instants(self, wall: datetime) -> list[datetime]:
        first = wall.replace(tzinfo=self._zone, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        if first == second:
            return [first]
        if first.astimezone(self._zone).replace(tzinfo=None) != wall:
            return [first]  # skipped wall time: fold=0 is the pre-gap offset, i.e. shifted
        return [first, second] if self._repeats_hourly else [first]

    def _wall(self, moment: datetime) -> datetime:
        return moment.astimezone(self._zone).replace(tzinfo=None, fold=0)

    def _margin(self, moment: datetime) -> timedelta:
        """How far wall-clock order may disagree with real-time order around ``moment``:
        the size of a nearby offset change (usually an hour), or nothing (the common case).
        A scan that starts or stops this far away in wall-clock time cannot miss a closer
        instant."""
        before = (moment - _NEAR).astimezone(self._zone).utcoffset() or timedelta(0)
        after = (moment + _NEAR).astimezone(self._zone).utcoffset() or timedelta(0)
        return abs(after - before)


def _expand(expression: str) -> str:
    text = " ".join(expression.split())
    if not text:
        raise InvalidScheduleError("invalid cron expression '': it is empty")
    if text.startswith("@") and text.lower() not in _ALIASES:
        known = ", ".join(_ALIASES)
        raise InvalidScheduleError(
            f"invalid cron expression '{expression}': not a known @alias (one of {known})"
        )
    fields = _ALIASES.get(text.lower(), text)
    count = len(fields.split())
    if count != 5:
        raise InvalidScheduleError(
            f"invalid cron expression '{expression}': it has {count} fields; expected 5 "
            f"fields (minute hour day-of-month month day-of-week)"
        )
    return fields


def _parse(expression: str, fields: str) -> croniter:
    try:
        parsed = croniter(fields, _REFERENCE)
        copy.copy(parsed).get_next(datetime)
    except CroniterBadDateError as error:
        raise InvalidScheduleError(
            f"invalid cron expression '{expression}': it never fires (no date matches it)"
        ) from error
    except (CroniterError, ValueError, KeyError) as error:
        raise InvalidScheduleError(f"invalid cron expression '{expression}': {error}") from error
    return parsed


def _zone(name: str) -> ZoneInfo:
    if not name:
        raise InvalidScheduleError("timezone is empty")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidScheduleError(f"unknown timezone {name!r}") from error


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment.isoformat()}")
    return moment.astimezone(UTC)
