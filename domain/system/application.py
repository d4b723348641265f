"""Draining commands, and the record of a secrets master key rotation."""

from __future__ import annotations

import contextlib

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from domain.cause import Cause
from domain.eventlog import EventLog
from domain.system.aggregates import SYSTEM_ID, System


class SystemService:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    def get(self) -> System:
        try:
            return self._log.load(System, SYSTEM_ID)
        except AggregateNotFoundError:
            return System._create(System.Created, id=SYSTEM_ID)

    def is_draining(self) -> bool:
        return self.get().draining

    def start_draining(self, cause: Cause) -> int:
        self._ensure()
        return self._log.update(System, SYSTEM_ID, lambda s: s.start_draining(cause.to_dict()))

    def stop_draining(self, cause: Cause) -> int:
        self._ensure()
        return self._log.update(System, SYSTEM_ID, lambda s: s.stop_draining(cause.to_dict()))

    def record_key_rotation(self, master_key_id: str, rewrapped: int, cause: Cause) -> int:
        self._ensure()
        return self._log.update(
            System,
            SYSTEM_ID,
            lambda s: s.record_key_rotation(master_key_id, rewrapped, cause.to_dict()),
        )

    def _ensure(self) -> None:
        try:
            self._log.load(System, SYSTEM_ID)
        except AggregateNotFoundError:
            with contextlib.suppress(RecordConflictError):  # created concurrently
                self._log.create(System._create(System.Created, id=SYSTEM_ID))
