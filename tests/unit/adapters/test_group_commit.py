"""Group commit: concurrent saves share transactions; a conflict fails only its save."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from adapters.sql.group_commit import LINGER, GroupCommitter


class Log:
    """A write function with a uniqueness rule, like the events table."""

    def __init__(self) -> None:
        self.rows: list[tuple[uuid.UUID, int]] = []
        self.transactions = 0
        self.gate = threading.Event()

    def write(self, events: Sequence[StoredEvent]) -> Sequence[int]:
        self.gate.wait(5)
        keys = [(e.originator_id, e.originator_version) for e in events]
        if len(set(keys)) != len(keys) or set(keys) & set(self.rows):
            raise IntegrityError("duplicate version")
        self.transactions += 1
        self.rows.extend(keys)
        return list(range(len(self.rows) - len(keys) + 1, len(self.rows) + 1))


def event(originator: uuid.UUID, version: int = 1) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic="t", state=b"")


def test_saves_waiting_behind_a_transaction_are_written_together() -> None:
    log = Log()
    committer = GroupCommitter(log.write)
    results: dict[int, Sequence[int] | None] = {}

    def save(i: int) -> None:
        results[i] = committer.submit([event(uuid.uuid4())])

    threads = [threading.Thread(target=save, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    log.gate.set()
    for thread in threads:
        thread.join(5)
    assert sorted(i for ids in results.values() for i in ids or []) == list(range(1, 11))
    assert log.transactions < 10, "some saves shared a transaction"


def test_a_conflict_in_a_shared_transaction_fails_only_the_conflicting_save() -> None:
    log = Log()
    committer = GroupCommitter(log.write)
    contested = uuid.uuid4()
    outcomes: list[str] = []

    def save(originator: uuid.UUID) -> None:
        try:
            committer.submit([event(originator)])
            outcomes.append("saved")
        except IntegrityError:
            outcomes.append("conflict")

    blocker = threading.Thread(target=save, args=(uuid.uuid4(),))
    blocker.start()  # holds the "transaction" until the gate opens
    others = [
        threading.Thread(target=save, args=(o,)) for o in (contested, contested, uuid.uuid4())
    ]
    for thread in others:
        thread.start()
    log.gate.set()
    for thread in [blocker, *others]:
        thread.join(5)
    assert sorted(outcomes) == ["conflict", "saved", "saved", "saved"]
    assert len(log.rows) == 3


def test_other_errors_reach_every_save_of_the_batch() -> None:
    def broken(events: Sequence[StoredEvent]) -> Sequence[int]:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        GroupCommitter(broken).submit([event(uuid.uuid4())])


def test_writers_that_shared_a_transaction_share_the_next_one_too() -> None:
    """Eight writers saving in a loop: the first one back after a shared commit waits
    for the others instead of committing alone (without that, about every other
    transaction held one save)."""
    log = Log()
    log.gate.set()
    write = log.write

    def slow(events: Sequence[StoredEvent]) -> Sequence[int]:
        ids = write(events)
        threading.Event().wait(0.002)  # the commit's round trip, in the fake store
        return ids

    committer = GroupCommitter(slow)
    sizes: list[int] = []
    commit = committer._commit

    def counting(batch: list) -> None:  # type: ignore[type-arg]
        sizes.append(len(batch))
        commit(batch)

    committer._commit = counting  # type: ignore[method-assign]

    def writer() -> None:
        for _ in range(25):
            committer.submit([event(uuid.uuid4())])

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(sizes) == 200 and len(log.rows) == 200
    singles = sizes[1:].count(1)  # the very first save is alone by design
    assert singles <= len(sizes) // 5, f"{singles} of {len(sizes)} transactions held one save"


def test_a_lone_writer_never_waits_for_company() -> None:
    log = Log()
    log.gate.set()
    committer = GroupCommitter(log.write)
    started = time.perf_counter()
    for _ in range(200):
        committer.submit([event(uuid.uuid4())])
    assert log.transactions == 200
    assert time.perf_counter() - started < 200 * LINGER, "no linger per save"
