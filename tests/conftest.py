from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql.store import SqlStore, StoreConfig
from tests.support import PG_URL, drop_schema, unique_schema

BACKENDS = ["sqlite", "postgres"]


def make_store_config(kind: str, tmp: Path) -> StoreConfig:
    if kind == "sqlite":
        return StoreConfig(kind="sqlite", data_dir=tmp)
    return StoreConfig(kind="postgres", database_url=PG_URL, schema=unique_schema(), pool_size=2)


@pytest.fixture(params=BACKENDS)
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreConfig]:
    """A fresh, empty event store and read-model store on each backend."""
    config = make_store_config(request.param, tmp_path)
    yield config
    if config.kind == "postgres":
        drop_schema(config.schema)


@pytest.fixture
def store(store_config: StoreConfig) -> Iterator[SqlStore]:
    opened = SqlStore(store_config)
    yield opened
    opened.close()


@pytest.fixture(params=BACKENDS, scope="module")
def shared_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlStore]:
    """One store per backend for a whole module; tests use unique ids instead of
    truncating tables."""
    config = make_store_config(request.param, tmp_path_factory.mktemp("store"))
    opened = SqlStore(config)
    yield opened
    opened.close()
    if config.kind == "postgres":
        drop_schema(config.schema)


@pytest.fixture
def pg_store_config(tmp_path: Path) -> Iterator[StoreConfig]:
    """A fresh PostgreSQL schema, for behaviour only PostgreSQL has (NOTIFY, connections
    the server can kill)."""
    config = make_store_config("postgres", tmp_path)
    yield config
    drop_schema(config.schema)


@pytest.fixture
def pg_store(pg_store_config: StoreConfig) -> Iterator[SqlStore]:
    opened = SqlStore(pg_store_config)
    yield opened
    opened.close()
