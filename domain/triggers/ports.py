"""Ports of trigger ingestion: what the application needs from forges and cron engines."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from domain.triggers.model import IgnoredDelivery, Provider, TriggerEvent, WebhookSecret


class CronSchedule(Protocol):
    """One cron expression evaluated in one timezone.

    Contract:

    - Arguments are timezone-aware datetimes (any zone); results are timezone-aware UTC
      datetimes on a whole minute (seconds and microseconds zero).
    - ``previous(at)`` is the latest scheduled minute at or before ``at`` (inclusive: when
      ``at`` lies inside a scheduled minute, that minute). ``next(after)`` is the earliest
      scheduled minute strictly after ``after``. So ``previous(next(t)) == next(t)``.
    - The expression is evaluated on the wall clock of the schedule's timezone and the
      result converted to UTC, so ``0 9 * * *`` in Europe/Berlin is 08:00 UTC in winter
      and 07:00 UTC in summer. Each scheduled instant is reported once. Implementations
      document what they do with wall-clock times that a DST change skips or repeats.
    - Construction validates the expression and timezone and raises
      :class:`~domain.triggers.errors.InvalidScheduleError`; evaluation does not raise.
    """

    def previous(self, at: datetime) -> datetime: ...

    def next(self, after: datetime) -> datetime: ...


ScheduleFactory = Callable[[str, str], CronSchedule]
"""Builds the :class:`CronSchedule` of ``(expression, timezone)``, raising
``InvalidScheduleError``. Config validation is given the one the scheduler runs, so a
config that validates holds no schedule the scheduler would refuse."""


class ForgeWebhooks(Protocol):
    """Verifies and parses the webhook deliveries of one forge.

    Contract:

    - ``verify`` runs first, on the raw body, before anything is parsed. It compares in
      constant time against every candidate with a non-empty value and returns the ids
      of all candidates that match, in candidate order (never empty). It raises
      ``WebhookSecretNotConfiguredError`` when no candidate has a value,
      ``SignatureMissingError`` when the header is absent and ``SignatureMismatchError``
      when it is malformed or matches nothing. Messages never contain secret values.
    - ``delivery_id`` is stable across redeliveries of one event where the forge allows
      (see the adapter), needs no parsing, and never fails.
    - ``parse`` returns a :class:`TriggerEvent`, or an :class:`IgnoredDelivery` with a
      reason for events and actions that start nothing; it raises
      ``MalformedPayloadError`` naming what is missing for a body that is not JSON, not
      an object, or lacks a field the event needs.
    """

    provider: Provider

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[WebhookSecret]
    ) -> tuple[str, ...]: ...

    def delivery_id(self, body: bytes, headers: Mapping[str, str]) -> str: ...

    def parse(self, body: bytes, headers: Mapping[str, str]) -> TriggerEvent | IgnoredDelivery: ...
