"""Cron schedules backed by croniter, evaluated on a timezone's wall clock."""

from adapters.cron.croniter_schedule import CroniterSchedule

__all__ = ["CroniterSchedule"]
