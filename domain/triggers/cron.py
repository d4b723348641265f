"""The cron firing policy: which scheduled minute, if any, to fire now.

The evaluator calls :func:`due_fire` about once a minute per cron trigger and records the
minute it fired. Policy:

- At most one fire per call: the latest scheduled minute at or before ``now``, and only
  if it is later than ``last_fired``. Ticks missed while the server was down therefore
  fire once on start, not once per missed minute.
- With no ``last_fired`` (a trigger evaluated for the first time, e.g. a pipeline just
  added) only a tick scheduled in the current minute fires: adding a pipeline never fires
  a backlog. A caller that knows when the trigger appeared can pass that instant as
  ``last_fired`` instead, so a tick between then and now is not lost.
- A ``last_fired`` later than ``now`` (the clock went back) fires nothing until the
  schedule passes it again, so no minute fires twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.triggers.ports import CronSchedule


def due_fire(schedule: CronSchedule, last_fired: datetime | None, now: datetime) -> datetime | None:
    """The scheduled minute (UTC) to fire now, or ``None``. Datetimes must be aware."""
    _require_aware("now", now)
    latest = schedule.previous(now)
    if last_fired is None:
        return latest if latest == floor_minute(now) else None
    _require_aware("last_fired", last_fired)
    return latest if latest > last_fired else None


def floor_minute(at: datetime) -> datetime:
    """``at`` in UTC, truncated to the start of its minute."""
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value.isoformat()}")
