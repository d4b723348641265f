"""Every use of ``eventsourcing``'s non-public API, in one place.

Danube pins the library (``eventsourcing==9.5.6``) and leans on a few of its internals
where the public API is too slow or does not reach (a save without runtime Protocol
checks, the SQLite pool's connection factory, the PostgreSQL recorder's table and
channel names). Each such touch is a function here, and
``tests/unit/domain/test_eventsourcing_compat.py`` checks every one of them against the
installed library, so an upgrade that moves or renames one fails that test by name
instead of failing somewhere at run time.

Functions take ``Any`` where the object is a driver's (SQLite, psycopg): the domain
imports no driver, and these only read or set attributes of the library's objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Recording

PINNED_VERSION = "9.5.6"
PENDING_EVENTS = "_pending_events"  # where an aggregate keeps the events not yet saved

C = TypeVar("C")


def record(app: Application[UUID], objs: Sequence[Any], **kwargs: Any) -> list[Recording[UUID]]:
    """``Application.save`` without its runtime Protocol checks on every object (they
    cost more than the rest of a save's Python work together): collect the pending events
    of the aggregates, record them (the repository's cache is kept as the library keeps
    it) and notify, as the library's own ``save`` does."""
    processing = ProcessingEvent[UUID]()
    for obj in objs:
        if isinstance(obj, Aggregate):
            processing.events.extend(obj.collect_events())
            processing.aggregates[obj.id] = obj
        elif obj is not None:
            processing.events.append(obj)
    processing.saved_kwargs.update(kwargs)
    recordings: list[Recording[UUID]] = app._record(processing)
    app._notify(recordings)
    return recordings


def pending_events(aggregate: Aggregate) -> list[Any]:
    """The aggregate's events not yet collected (a copy of the list)."""
    return list(aggregate.__dict__.get(PENDING_EVENTS, []))


def set_pending_events(aggregate: Aggregate, events: list[Any]) -> None:
    aggregate.__dict__[PENDING_EVENTS] = events


def wrap_sqlite_connections(pool: Any, tune: Callable[[Any], None]) -> None:
    """Call ``tune(sqlite3_connection)`` on every new connection of the library's SQLite
    pool (its ``_create_connection`` factory, and the raw connection it wraps)."""
    create = pool._create_connection

    def tuned() -> Any:
        connection = create()
        tune(connection._sqlite_conn)
        return connection

    pool._create_connection = tuned


def postgres_connect_kwargs(datastore: Any) -> dict[str, Any]:
    """The keyword arguments the library's PostgreSQL pool connects with (a dict, or a
    callable returning one), as a fresh dict."""
    kwargs = datastore.pool.kwargs
    if callable(kwargs):
        kwargs = kwargs()
    return dict(kwargs or {})


def set_postgres_application_name(datastore: Any, name: str) -> None:
    """Name the connections the library's pool opens from now on."""
    if isinstance(datastore.pool.kwargs, dict):
        datastore.pool.kwargs["application_name"] = name


def postgres_recorder_names(recorder: Any) -> dict[str, Any]:
    """What a ``PostgresApplicationRecorder`` knows that an insert function of ours needs:
    schema, events table, NOTIFY channel, originator id type and lock timeout (seconds)."""
    datastore = recorder.datastore
    return {
        "schema": datastore.schema,
        "table": recorder.events_table_name,
        "channel": recorder.channel_name,
        "id_type": datastore.originator_id_type,
        "lock_timeout": int(datastore.lock_timeout),
    }


def add_create_statement(recorder: Any, statement: Any) -> None:
    """Have the recorder run ``statement`` with its own DDL when it creates its tables."""
    recorder.sql_create_statements.append(statement)
