"""The PostgreSQL recorder internals ``domain.eventsourcing_compat`` reads, on a real
recorder (see tests/unit/domain/test_eventsourcing_compat.py for the rest)."""

from __future__ import annotations

import pytest

from adapters.sql.store import SqlStore
from domain.eventsourcing_compat import postgres_connect_kwargs, postgres_recorder_names

pytestmark = pytest.mark.postgres


def test_the_postgres_recorder_names_what_our_insert_function_needs(pg_store: SqlStore) -> None:
    recorder = pg_store.log.recorder
    names = postgres_recorder_names(recorder)
    assert names["schema"] == pg_store.config.schema
    assert names["table"] == "danube_events"
    assert names["channel"]
    assert names["id_type"].lower() in {"uuid", "text"}
    assert names["lock_timeout"] > 0
    kwargs = postgres_connect_kwargs(recorder.datastore)  # type: ignore[attr-defined]
    assert kwargs.get("application_name", "").startswith("danube-events")
