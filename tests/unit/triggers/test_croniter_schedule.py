from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from adapters.cron import CroniterSchedule
from domain.config.model import Trigger, TriggerKind
from domain.triggers import InvalidScheduleError, due_fire

BERLIN = ZoneInfo("Europe/Berlin")
# Europe/Berlin in 2026: CET→CEST on 29 March at 02:00, CEST→CET on 25 October at 03:00.


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def fires(schedule: CroniterSchedule, start: datetime, end: datetime) -> list[datetime]:
    """Every scheduled instant in (start, end], walking with next()."""
    found = []
    moment = schedule.next(start)
    while moment <= end:
        found.append(moment)
        moment = schedule.next(moment)
    return found


def test_every_minute_schedule_steps_minute_by_minute() -> None:
    every = CroniterSchedule("* * * * *")
    assert every.next(utc(2026, 5, 4, 10, 0, 30)) == utc(2026, 5, 4, 10, 1)
    assert every.next(utc(2026, 5, 4, 10, 0)) == utc(2026, 5, 4, 10, 1)
    assert every.previous(utc(2026, 5, 4, 10, 0, 30)) == utc(2026, 5, 4, 10, 0)


def test_previous_includes_the_current_minute_and_next_excludes_it() -> None:
    hourly = CroniterSchedule("0 * * * *")
    assert hourly.previous(utc(2026, 5, 4, 10, 0)) == utc(2026, 5, 4, 10, 0)
    assert hourly.previous(utc(2026, 5, 4, 10, 0, 59, 999999)) == utc(2026, 5, 4, 10, 0)
    assert hourly.previous(utc(2026, 5, 4, 9, 59, 59)) == utc(2026, 5, 4, 9, 0)
    assert hourly.next(utc(2026, 5, 4, 10, 0)) == utc(2026, 5, 4, 11, 0)


def test_results_are_utc_whatever_zone_the_argument_is_in() -> None:
    schedule = CroniterSchedule("15 9 * * *", "Europe/Berlin")
    result = schedule.next(datetime(2026, 1, 10, 12, 0, tzinfo=BERLIN))
    assert result == utc(2026, 1, 11, 8, 15)
    assert result.tzinfo is UTC


def test_a_berlin_schedule_follows_the_wall_clock_across_seasons() -> None:
    nine = CroniterSchedule("0 9 * * *", "Europe/Berlin")
    assert nine.next(utc(2026, 1, 15)) == utc(2026, 1, 15, 8, 0)
    assert nine.next(utc(2026, 7, 15)) == utc(2026, 7, 15, 7, 0)
    assert fires(nine, utc(2026, 3, 28), utc(2026, 3, 31)) == [
        utc(2026, 3, 28, 8, 0),
        utc(2026, 3, 29, 7, 0),
        utc(2026, 3, 30, 7, 0),
    ]


def test_a_time_skipped_by_spring_forward_fires_once_shifted_by_the_gap() -> None:
    half_past_two = CroniterSchedule("30 2 * * *", "Europe/Berlin")
    assert fires(half_past_two, utc(2026, 3, 28), utc(2026, 3, 31)) == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 30),  # 02:30 does not exist: 03:30 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    assert half_past_two.previous(utc(2026, 3, 29, 2, 0)) == utc(2026, 3, 29, 1, 30)


def test_a_time_repeated_by_fall_back_fires_once() -> None:
    half_past_two = CroniterSchedule("30 2 * * *", "Europe/Berlin")
    assert fires(half_past_two, utc(2026, 10, 24), utc(2026, 10, 27)) == [
        utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 0, 30),  # first 02:30 (CEST); the second (CET) does not fire
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
    ]
    assert half_past_two.previous(utc(2026, 10, 25, 1, 45)) == utc(2026, 10, 25, 0, 30)


def test_hour_wildcard_schedules_keep_real_time_through_the_repeated_hour() -> None:
    half_hourly = CroniterSchedule("*/30 * * * *", "Europe/Berlin")
    assert fires(half_hourly, utc(2026, 10, 24, 23, 45), utc(2026, 10, 25, 2, 0)) == [
        utc(2026, 10, 25, 0, 0),  # 02:00 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 1, 0),  # 02:00 CET
        utc(2026, 10, 25, 1, 30),  # 02:30 CET
        utc(2026, 10, 25, 2, 0),  # 03:00 CET
    ]


def test_every_minute_in_berlin_fires_every_real_minute_across_both_changes() -> None:
    every = CroniterSchedule("* * * * *", "Europe/Berlin")
    for change in (utc(2026, 3, 29, 1, 0), utc(2026, 10, 25, 1, 0)):
        found = fires(every, change - timedelta(minutes=15), change + timedelta(minutes=15))
        assert found == [change + timedelta(minutes=m) for m in range(-14, 16)]
    assert every.next(utc(2026, 3, 29, 0, 59)) == utc(2026, 3, 29, 1, 0)  # 01:59 CET → 03:00 CEST


def test_a_restart_across_spring_forward_fires_the_missed_tick_once() -> None:
    schedule = CroniterSchedule("30 2 * * *", "Europe/Berlin")
    last = utc(2026, 3, 28, 1, 30)
    assert due_fire(schedule, last, utc(2026, 3, 29, 6, 0)) == utc(2026, 3, 29, 1, 30)
    assert due_fire(schedule, utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 6, 1)) is None


def test_the_first_evaluation_of_a_new_cron_trigger_fires_no_backlog() -> None:
    schedule = CroniterSchedule("*/5 * * * *", "Europe/Berlin")
    assert due_fire(schedule, None, utc(2026, 5, 4, 10, 7)) is None
    assert due_fire(schedule, None, utc(2026, 5, 4, 10, 10, 20)) == utc(2026, 5, 4, 10, 10)


def test_new_york_spring_forward_gap_shifts_to_three_o_clock() -> None:
    two_am = CroniterSchedule("0 2 * * *", "America/New_York")
    # 8 March 2026: 02:00 EST does not exist; it fires at 03:00 EDT (07:00 UTC).
    assert two_am.next(utc(2026, 3, 8, 0, 0)) == utc(2026, 3, 8, 7, 0)
    assert two_am.next(utc(2026, 3, 8, 7, 0)) == utc(2026, 3, 9, 6, 0)


@pytest.mark.parametrize(
    ("expression", "zone", "day"),
    [
        ("*/7 * * * *", "Europe/Berlin", utc(2026, 6, 10)),
        ("5 4,16 * * 1-5", "America/New_York", utc(2026, 2, 3, 6)),
        ("0 0 1,15 * *", "Asia/Kolkata", utc(2026, 8, 14, 12)),
        ("@hourly", "UTC", utc(2026, 1, 1)),
    ],
)
def test_next_agrees_with_a_minute_by_minute_scan_away_from_dst(
    expression: str, zone: str, day: datetime
) -> None:
    schedule = CroniterSchedule(expression, zone)
    fields = "0 * * * *" if expression == "@hourly" else expression
    tz = ZoneInfo(zone)
    minutes = [day + timedelta(minutes=m) for m in range(1, 12 * 60)]
    expected = [m for m in minutes if croniter.match(fields, m.astimezone(tz).replace(tzinfo=None))]
    assert fires(schedule, day, minutes[-1]) == expected
    for moment in minutes[::53]:
        assert schedule.previous(schedule.next(moment)) == schedule.next(moment)
        assert schedule.previous(moment) <= moment < schedule.next(moment)


@pytest.mark.parametrize(
    ("alias", "expected_next"),
    [
        ("@hourly", utc(2026, 5, 4, 11, 0)),
        ("@daily", utc(2026, 5, 5, 0, 0)),
        ("@midnight", utc(2026, 5, 5, 0, 0)),
        ("@weekly", utc(2026, 5, 10, 0, 0)),
        ("@monthly", utc(2026, 6, 1, 0, 0)),
        ("@yearly", utc(2027, 1, 1, 0, 0)),
        ("@annually", utc(2027, 1, 1, 0, 0)),
    ],
)
def test_aliases(alias: str, expected_next: datetime) -> None:
    assert CroniterSchedule(alias).next(utc(2026, 5, 4, 10, 30)) == expected_next


def test_rare_schedules_are_found_years_ahead() -> None:
    leap_day = CroniterSchedule("0 12 29 2 *", "Europe/Berlin")
    assert leap_day.next(utc(2026, 3, 1)) == utc(2028, 2, 29, 11, 0)
    assert leap_day.previous(utc(2026, 3, 1)) == utc(2024, 2, 29, 11, 0)


@pytest.mark.parametrize(
    ("expression", "zone", "message"),
    [
        ("", "UTC", "empty"),
        ("* * * *", "UTC", "has 4 fields; expected 5"),
        ("* * * * * *", "UTC", "has 6 fields; expected 5"),
        ("61 * * * *", "UTC", "invalid"),
        ("* 24 * * *", "UTC", "invalid"),
        ("every day", "UTC", "has 2 fields"),
        ("a b c d e", "UTC", "invalid"),
        ("0 0 30 2 *", "UTC", "never fires"),
        ("@reboot", "UTC", "not a known @alias"),
        ("* * * * *", "Mars/Olympus_Mons", "unknown timezone 'Mars/Olympus_Mons'"),
        ("* * * * *", "", "timezone is empty"),
        ("* * * * *", "../../etc/passwd", "unknown timezone"),
    ],
)
def test_invalid_schedules_are_rejected_with_a_reason(
    expression: str, zone: str, message: str
) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        CroniterSchedule(expression, zone)


def test_a_schedule_is_built_from_a_cron_trigger() -> None:
    trigger = Trigger(TriggerKind.CRON, schedule="0 3 * * *", timezone="Europe/Berlin")
    schedule = CroniterSchedule.for_trigger(trigger)
    assert schedule.next(utc(2026, 1, 1)) == utc(2026, 1, 1, 2, 0)
    assert repr(schedule) == "CroniterSchedule('0 3 * * *', 'Europe/Berlin')"
    with pytest.raises(InvalidScheduleError, match="no schedule"):
        CroniterSchedule.for_trigger(Trigger(TriggerKind.CRON))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CroniterSchedule("* * * * *").next(datetime(2026, 1, 1))
