from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.triggers import due_fire, floor_minute


class EveryMinutes:
    """A fake CronSchedule: every ``step`` minutes of the UTC day (step divides 60*24)."""

    def __init__(self, step: int) -> None:
        self.step = timedelta(minutes=step)

    def previous(self, at: datetime) -> datetime:
        minute = floor_minute(at)
        midnight = minute.replace(hour=0, minute=0)
        return midnight + ((minute - midnight) // self.step) * self.step

    def next(self, after: datetime) -> datetime:
        return self.previous(after) + self.step


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 5, 4, hour, minute, second, tzinfo=UTC)


HOURLY = EveryMinutes(60)


def test_a_tick_due_now_fires() -> None:
    assert due_fire(HOURLY, at(9, 0), at(10, 0, 3)) == at(10, 0)


def test_a_tick_that_already_fired_does_not_fire_again() -> None:
    assert due_fire(HOURLY, at(10, 0), at(10, 0, 40)) is None
    assert due_fire(HOURLY, at(10, 0), at(10, 59, 59)) is None


def test_ticks_missed_while_down_fire_once_on_start() -> None:
    # Down from 10:30 to 13:37: the 11:00, 12:00 and 13:00 ticks collapse into one.
    assert due_fire(HOURLY, at(10, 0), at(13, 37)) == at(13, 0)
    assert due_fire(HOURLY, at(13, 0), at(13, 38)) is None
    assert due_fire(HOURLY, at(13, 0), at(14, 0, 1)) == at(14, 0)


def test_the_first_evaluation_fires_only_a_tick_of_the_current_minute() -> None:
    assert due_fire(HOURLY, None, at(10, 0, 59)) == at(10, 0)
    assert due_fire(HOURLY, None, at(10, 1)) is None
    assert due_fire(HOURLY, None, at(10, 59, 59)) is None


def test_a_caller_that_knows_when_the_trigger_appeared_can_use_it_as_last_fired() -> None:
    added = at(9, 59, 30)
    assert due_fire(HOURLY, added, at(10, 1, 5)) == at(10, 0)


def test_nothing_fires_while_the_clock_is_behind_the_last_fire() -> None:
    assert due_fire(HOURLY, at(12, 0), at(11, 30)) is None
    assert due_fire(HOURLY, at(12, 0), at(12, 0, 30)) is None


def test_last_fired_may_be_in_any_timezone() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    last = at(10, 0).astimezone(berlin_summer)
    assert due_fire(HOURLY, last, at(10, 30)) is None
    assert due_fire(HOURLY, last, at(11, 0)) == at(11, 0)


def test_every_minute_schedules_fire_each_minute_evaluated_once() -> None:
    every_minute = EveryMinutes(1)
    last: datetime | None = None
    fired = []
    for second in range(0, 5 * 60, 20):  # evaluated three times a minute
        now = at(8, 0) + timedelta(seconds=second)
        fire = due_fire(every_minute, last, now)
        if fire is not None:
            fired.append(fire)
            last = fire
    assert fired == [at(8, minute) for minute in range(5)]


def test_a_simulated_restart_fires_the_missed_tick_once() -> None:
    every_15 = EveryMinutes(15)
    last: datetime | None = None
    fired = []
    server_up = [*range(0, 20), *range(95, 120)]  # minutes since 08:00; down 08:20-09:35
    for minute in server_up:
        fire = due_fire(every_15, last, at(8, 0) + timedelta(minutes=minute, seconds=2))
        if fire is not None:
            fired.append(fire)
            last = fire
    assert fired == [at(8, 0), at(8, 15), at(9, 30), at(9, 45)]


@pytest.mark.parametrize("last", [None, at(9, 0)])
def test_naive_datetimes_are_refused(last: datetime | None) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_fire(HOURLY, last, datetime(2026, 5, 4, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        due_fire(HOURLY, datetime(2026, 5, 4, 9, 0), at(10, 0))


def test_floor_minute_is_utc_and_whole_minutes() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert floor_minute(datetime(2026, 5, 4, 12, 7, 59, 999, tzinfo=plus_two)) == at(10, 7)
