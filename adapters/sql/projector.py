"""Followers: run a projection over the event log, live and in batches.

A follower reads notifications after its tracking position (many per transaction),
decodes only the topics its projection folds, and hands the batch to the view store,
which applies it exactly once. When the log is quiet it waits for a commit announcement
(this process's saves, a PostgreSQL NOTIFY relayed by the listener) or, at worst, a poll
interval (other processes' SQLite writes; a missed NOTIFY).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.sql.viewstore import Batch, SqlViewStore, TrackingMovedError
from adapters.sql.wakeup import Wakeup
from projections.model import Projection

log = logging.getLogger(__name__)


class EventFeed:
    """The ordered notification log of the event store, and how to wait for more."""

    def __init__(self, recorder: Any, mapper: Any, commits: Wakeup, poll_interval: float) -> None:
        self.recorder, self.mapper = recorder, mapper
        self.commits = commits
        self.poll_interval = poll_interval

    def read(self, after: int, limit: int, stop: int | None = None) -> list[Any]:
        return list(
            self.recorder.select_notifications(after, limit, stop=stop, inclusive_of_start=False)
        )

    def max_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def recorded_after(self, position: int) -> datetime | None:
        """When the first event after ``position`` happened (its own timestamp), or None
        if there is none: how long a follower at ``position`` has been behind."""
        notifications = self.read(position, 1)
        if not notifications:
            return None
        timestamp = getattr(self.mapper.to_domain_event(notifications[0]), "timestamp", None)
        return timestamp if isinstance(timestamp, datetime) else None


class ProjectorGroup:
    """Several projections followed by one thread: each batch of notifications is read
    once and folded into every projection in one transaction (their rows and tracking
    positions together, still exactly once each). A projection behind the others (new,
    or rebuilt) gets only the notifications after its own position. Cheaper than one
    follower per projection: one read and one commit per batch instead of one each."""

    def __init__(
        self,
        feed: EventFeed,
        store: SqlViewStore,
        projections: Sequence[Projection],
        batch_size: int = 500,
    ) -> None:
        self.feed, self.store, self.projections = feed, store, list(projections)
        self.batch_size = batch_size
        self.positions = {p.name: 0 for p in self.projections}

    def start(self) -> None:
        for projection in self.projections:
            self.store.ensure(projection)
        self._read_positions()

    def _read_positions(self) -> None:
        self.positions = {p.name: self.store.position(p.name) for p in self.projections}

    def step(self, stop_at: int | None = None) -> int:
        """Apply the next batch; returns how many notifications it covered, or -1 when
        another writer had moved one of the projections (positions are re-read)."""
        lowest = min(self.positions.values())
        notifications = self.feed.read(lowest, self.batch_size, stop=stop_at)
        if not notifications:
            return 0
        end = notifications[-1].id
        decoded: dict[int, Any] = {}

        def event(notification: Any) -> Any:
            if notification.id not in decoded:
                decoded[notification.id] = self.feed.mapper.to_domain_event(notification)
            return decoded[notification.id]

        batches = []
        for projection in self.projections:
            start = self.positions[projection.name]
            if start >= end:
                continue
            topics = projection.topics
            events = [event(n) for n in notifications if n.id > start and n.topic in topics]
            batches.append(Batch(projection, events, start, end))
        try:
            self.store.apply_batches(batches)
        except TrackingMovedError:
            self._read_positions()
            return -1
        for batch in batches:
            self.positions[batch.projection.name] = end
        return len(notifications)

    def catch_up(self, stop_at: int | None = None) -> int:
        """Apply batches until nothing is left (up to ``stop_at`` if given)."""
        total = 0
        while count := self.step(stop_at):
            total += max(count, 0)
        return total

    def follow(self, stopping: threading.Event) -> None:
        """Follow the log until ``stopping`` is set."""
        self.start()
        while not stopping.is_set():
            generation = self.feed.commits.generation()
            if self.step() == 0:
                self.feed.commits.wait(generation, self.feed.poll_interval)


class Projector(ProjectorGroup):
    """One projection's follower (a group of one)."""

    def __init__(
        self,
        feed: EventFeed,
        store: SqlViewStore,
        projection: Projection,
        batch_size: int = 500,
    ) -> None:
        super().__init__(feed, store, [projection], batch_size)
        self.projection = projection

    @property
    def position(self) -> int:
        return self.positions[self.projection.name]

    @position.setter
    def position(self, value: int) -> None:
        self.positions[self.projection.name] = value
