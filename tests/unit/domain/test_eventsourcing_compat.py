"""The library internals Danube relies on (``domain.eventsourcing_compat``) are where that
module reads them. Each test names the internal it checks, so a library upgrade that
moves one fails here, by name, before anything fails at run time."""

from __future__ import annotations

import inspect
import sqlite3
from importlib.metadata import version
from pathlib import Path

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.sqlite import SQLiteDatastore

from domain.eventsourcing_compat import (
    PINNED_VERSION,
    pending_events,
    set_pending_events,
    wrap_sqlite_connections,
)
from tests.unit.domain.test_run_state_machine import new_run


def test_the_installed_library_is_the_version_the_compat_module_was_checked_against() -> None:
    assert version("eventsourcing") == PINNED_VERSION, (
        "eventsourcing was upgraded: check every function of domain/eventsourcing_compat.py "
        "against the new release, then update PINNED_VERSION (and pyproject.toml's pin)"
    )


def test_the_save_path_internals_exist_with_the_signatures_record_calls() -> None:
    assert list(inspect.signature(Application._record).parameters) == ["self", "processing_event"]
    assert list(inspect.signature(Application._notify).parameters) == ["self", "recordings"]
    processing = ProcessingEvent()  # type: ignore[var-annotated]
    for attribute in ("events", "aggregates", "saved_kwargs", "tracking"):
        assert hasattr(processing, attribute), f"ProcessingEvent.{attribute} is gone"


def test_an_aggregates_pending_events_are_where_the_compat_module_reads_them() -> None:
    run, _ = new_run()
    assert len(pending_events(run)) == 1  # Run.Requested, not yet collected
    set_pending_events(run, [])
    assert run.collect_events() == []


def test_new_sqlite_pool_connections_can_be_tuned(tmp_path: Path) -> None:
    datastore = SQLiteDatastore(str(tmp_path / "events.sqlite3"))
    seen: list[sqlite3.Connection] = []
    wrap_sqlite_connections(datastore.pool, seen.append)
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("SELECT 1")
    assert seen, "the pool's _create_connection factory was not called"
    assert all(isinstance(raw, sqlite3.Connection) for raw in seen)
    datastore.close()
