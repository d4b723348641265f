from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from psycopg.conninfo import make_conninfo

from adapters.sql.dialect import Dialect, PostgresDialect, SQLiteDialect, create_schema
from adapters.sql.logstore import CACHED_JOBS, SqlLogStore
from adapters.sql.store import StoreConfig

OpenLogs = Callable[..., SqlLogStore]


@pytest.fixture
def open_logs(store_config: StoreConfig) -> Iterator[OpenLogs]:
    """Opens log stores on the test's database, each with its own connections, as a
    second process would."""
    dialects: list[Dialect] = []

    def open_(poll_interval: float | None = None, cached_jobs: int = CACHED_JOBS) -> SqlLogStore:
        dialect: Dialect
        if store_config.kind == "sqlite":
            assert store_config.data_dir is not None
            dialect = SQLiteDialect(store_config.data_dir / "events.sqlite3")
        else:
            conninfo = conninfo_for(store_config)
            create_schema(conninfo, store_config.schema)
            dialect = PostgresDialect(conninfo, store_config.schema, pool_size=8)
        dialects.append(dialect)
        logs = SqlLogStore(dialect, poll_interval, cached_jobs)
        logs.ensure()
        return logs

    yield open_
    for dialect in dialects:
        dialect.close()


@pytest.fixture
def logs(open_logs: OpenLogs) -> SqlLogStore:
    return open_logs()


def conninfo_for(config: StoreConfig) -> str:
    return make_conninfo(config.database_url, options=f"-c search_path={config.schema}")
