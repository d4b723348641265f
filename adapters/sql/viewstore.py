"""Read-model tables in SQL: created from a projection's declared tables, written in
batches together with the projection's tracking position (exactly-once), read through
the ``RowReader`` port.

Live tables are named ``view_<table>``; replay builds ``replay_<table>`` next to them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.sql.dialect import Cursor, Dialect
from adapters.sql.wakeup import Wakeup
from projections.model import Projection, Row, Table

log = logging.getLogger(__name__)

VIEWS_CHANNEL = "danube_views"


class TrackingMovedError(RuntimeError):
    """Another writer advanced this projection; the batch was not applied."""


@dataclass(frozen=True)
class Batch:
    """A projection's events among the notifications after ``start`` up to ``end``."""

    projection: Projection
    events: Sequence[Any]
    start: int
    end: int


class SqlViewStore:
    def __init__(self, dialect: Dialect, prefix: str = "view_") -> None:
        self.dialect = dialect
        self.prefix = prefix
        self._progress: dict[str, Wakeup] = {}

    # ---- schema --------------------------------------------------------------------

    def table_name(self, table: str) -> str:
        return self.dialect.qualify(self.prefix + table)

    def ensure(self, projection: Projection, *, indexes: bool = True) -> None:
        with self.dialect.write() as cur:
            self.dialect.lock_ddl(cur)
            self._ensure_tracking(cur, projection.name)
            for table in projection.tables:
                columns = ", ".join(
                    f"{c.name} {self.dialect.column_type(c.type)}" for c in table.columns
                )
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table_name(table.name)} "
                    f"(id TEXT PRIMARY KEY, {columns})"
                )
                self._add_missing_columns(cur, table)
                self._drop_retired_columns(cur, table)
            if indexes:
                self.create_indexes(cur, projection.tables)

    def _columns(self, cur: Cursor, table: Table) -> set[str]:
        cur.execute(f"SELECT * FROM {self.table_name(table.name)} WHERE 1 = 0")
        return {column[0] for column in cur.description or ()}

    def _drop_retired_columns(self, cur: Cursor, table: Table) -> None:
        """Columns an older version kept and this one must not (sealed material)."""
        present = self._columns(cur, table) if table.retired else set()
        for name in table.retired:
            if name in present:
                cur.execute(f"ALTER TABLE {self.table_name(table.name)} DROP COLUMN {name}")

    def _add_missing_columns(self, cur: Cursor, table: Table) -> None:
        """Columns declared since the table was created: NULL in the rows it has."""
        present = self._columns(cur, table)
        for column in table.columns:
            if column.name not in present:
                cur.execute(
                    f"ALTER TABLE {self.table_name(table.name)} "
                    f"ADD COLUMN {column.name} {self.dialect.column_type(column.type)}"
                )

    def create_indexes(self, cur: Cursor, tables: Iterable[Table]) -> None:
        for table in tables:
            for columns in table.indexes:
                name = f"{self.prefix}{table.name}_{'_'.join(columns)}_idx"
                cur.execute(
                    f'CREATE INDEX IF NOT EXISTS "{name}" '
                    f"ON {self.table_name(table.name)} ({', '.join(columns)})"
                )

    def _ensure_tracking(self, cur: Cursor, projection: str | None = None) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table_name('tracking')} "
            "(id TEXT PRIMARY KEY, position BIGINT NOT NULL, updated_at TEXT)"
        )
        if projection is not None:
            # The row must exist before the first batch: batches lock it to serialise
            # concurrent followers of one projection.
            cur.execute(
                f"INSERT INTO {self.table_name('tracking')} (id, position) "
                f"VALUES ({self.dialect.placeholder}, 0) ON CONFLICT (id) DO NOTHING",
                (projection,),
            )

    def drop(self, projection: Projection) -> None:
        with self.dialect.write() as cur:
            self.dialect.lock_ddl(cur)
            self._ensure_tracking(cur, projection.name)
            for table in projection.tables:
                cur.execute(f"DROP TABLE IF EXISTS {self.table_name(table.name)}")
            cur.execute(
                f"DELETE FROM {self.table_name('tracking')} WHERE id = {self.dialect.placeholder}",
                (projection.name,),
            )

    # ---- tracking ------------------------------------------------------------------

    def position(self, projection_name: str) -> int:
        with self.dialect.read() as cur:
            return self.read_position(cur, projection_name, lock=False)

    def read_position(self, cur: Cursor, name: str, *, lock: bool = False) -> int:
        cur.execute(
            f"SELECT position FROM {self.table_name('tracking')} "
            f"WHERE id = {self.dialect.placeholder}" + (self.dialect.for_update if lock else ""),
            (name,),
        )
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def progress(self, projection_name: str) -> Wakeup:
        """Announces every position this process committed (and, on PostgreSQL, what a
        listener relays from other processes)."""
        return self._progress.setdefault(projection_name, Wakeup())

    def announce_all(self) -> None:
        for wakeup in list(self._progress.values()):
            wakeup.announce()

    # ---- writing -------------------------------------------------------------------

    def apply_batch(
        self, projection: Projection, events: Sequence[Any], start: int, end: int
    ) -> None:
        """Fold ``events`` (notifications after ``start`` up to ``end``) and move the
        tracking position from ``start`` to ``end``, all in one transaction. Raises
        ``TrackingMovedError`` (and changes nothing) if the position is not ``start``."""
        self.apply_batches([Batch(projection, events, start, end)])

    def apply_batches(self, batches: Sequence[Batch]) -> None:
        """``apply_batch`` for several projections in one transaction: all of them or,
        if any one's position is not its ``start`` (``TrackingMovedError``), none."""
        with self.dialect.write() as cur:
            for batch in batches:
                self._fold(cur, batch)
        for batch in batches:
            self.progress(batch.projection.name).announce(batch.end)

    def _fold(self, cur: Cursor, batch: Batch) -> None:
        projection = batch.projection
        current = self.read_position(cur, projection.name, lock=True)
        if current != batch.start:
            raise TrackingMovedError(f"{projection.name} is at {current}, not {batch.start}")
        rows = BatchRows(self, cur, {t.name: t for t in projection.tables})
        for event in batch.events:
            try:
                projection.apply(event, rows)
            except Exception:
                # A handler bug must not halt the follower on this event forever;
                # replay skips it the same way, so live and replay still agree.
                log.exception(
                    "projection %s skipped an event it could not fold",
                    projection.name,
                    extra={"topic": type(event).__name__},
                )
        rows.flush()
        self.set_position(cur, projection.name, batch.end)
        self.dialect.notify(cur, VIEWS_CHANNEL, self.payload(projection.name, batch.end))

    # A NOTIFY reaches every listener of the database, whatever its schema: the payload
    # names the schema, so one installation's commits never announce another's positions
    # (read-your-writes would return before this schema's read model had the write).

    def payload(self, name: str, position: int) -> str:
        """The ``danube_views`` NOTIFY payload of read model ``name`` at ``position``."""
        return f"{self._scope()}/{self.prefix}{name}:{position}"

    def _scope(self) -> str:
        return str(getattr(self.dialect, "schema", ""))

    def relay(self, payload: str | None) -> None:
        """Hand over a ``danube_views`` NOTIFY payload (None: announce every read model)."""
        if payload is None:
            self.announce_all()
            return
        scope, _, rest = payload.rpartition("/")
        name, _, position = rest.rpartition(":")
        if scope == self._scope() and name.startswith(self.prefix) and position.isdigit():
            self.progress(name.removeprefix(self.prefix)).announce(int(position))

    def set_position(self, cur: Cursor, name: str, position: int) -> None:
        p = self.dialect.placeholder
        now = datetime.now(UTC).isoformat()
        cur.execute(
            f"INSERT INTO {self.table_name('tracking')} (id, position, updated_at) "
            f"VALUES ({p}, {p}, {p}) ON CONFLICT (id) DO UPDATE "
            "SET position = excluded.position, updated_at = excluded.updated_at",
            (name, position, now),
        )

    # ---- reading -------------------------------------------------------------------

    def reader(self, projection: Projection) -> SqlRowReader:
        return SqlRowReader(self, {t.name: t for t in projection.tables}, projection.name)


def _encode(table: Table, row: Row) -> tuple[Any, ...]:
    json_columns = table.json_columns
    return tuple(
        json.dumps(row.get(name), sort_keys=True) if name in json_columns else row.get(name)
        for name in table.column_names
    )


def _decode(table: Table, values: Sequence[Any]) -> Row:
    row = dict(zip(table.column_names, values, strict=True))
    for name in table.json_columns:
        value = row[name]
        if value is not None:
            row[name] = None if value == "null" else json.loads(value)  # most are null
    return row


class BatchRows:
    """The ``Rows`` unit of work of one batch: reads through to SQL once per row, keeps
    changes in memory, writes every changed row with one ``executemany`` per table."""

    def __init__(self, store: SqlViewStore, cur: Cursor, tables: Mapping[str, Table]) -> None:
        self._store, self._cur, self._tables = store, cur, tables
        self._cache: dict[tuple[str, str], Row | None] = {}
        self._dirty: dict[str, dict[str, Row]] = {name: {} for name in tables}
        self._deleted: dict[str, set[str]] = {name: set() for name in tables}

    def get(self, table: str, row_id: str) -> Row | None:
        key = (table, row_id)
        if key not in self._cache:
            t = self._tables[table]
            self._cur.execute(
                f"SELECT {', '.join(t.column_names)} FROM {self._store.table_name(table)} "
                f"WHERE id = {self._store.dialect.placeholder}",
                (row_id,),
            )
            found = self._cur.fetchone()
            self._cache[key] = None if found is None else _decode(t, found)
        return self._cache[key]

    def put(self, table: str, row: Row) -> None:
        self._cache[(table, row["id"])] = row
        self._dirty[table][row["id"]] = row
        self._deleted[table].discard(row["id"])

    def delete(self, table: str, row_id: str) -> None:
        self._cache[(table, row_id)] = None
        self._dirty[table].pop(row_id, None)
        self._deleted[table].add(row_id)

    def flush(self) -> None:
        p = self._store.dialect.placeholder
        for name, table in self._tables.items():
            target = self._store.table_name(name)
            if self._deleted[name]:
                self._cur.executemany(
                    f"DELETE FROM {target} WHERE id = {p}", [(i,) for i in self._deleted[name]]
                )
            if self._dirty[name]:
                columns = table.column_names
                updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
                self._cur.executemany(
                    f"INSERT INTO {target} ({', '.join(columns)}) "
                    f"VALUES ({', '.join([p] * len(columns))}) "
                    f"ON CONFLICT (id) DO UPDATE SET {updates}",
                    [_encode(table, row) for row in self._dirty[name].values()],
                )


class SqlRowReader:
    def __init__(self, store: SqlViewStore, tables: Mapping[str, Table], name: str = "") -> None:
        self._store, self._tables, self._name = store, tables, name

    def position(self) -> int:
        """The projection's tracking position (rows and position commit together, so a
        read that begins after this one sees at least this position's rows)."""
        return self._store.position(self._name)

    def get(self, table: str, row_id: str) -> Row | None:
        rows = self.find(table, {"id": row_id}, limit=1)
        return rows[0] if rows else None

    def find(
        self,
        table: str,
        where: Mapping[str, Any],
        *,
        order_by: Sequence[str] = ("id",),
        descending: bool = False,
        after: Sequence[Any] | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        t = self._tables[table]
        p = self._store.dialect.placeholder
        clauses, params = [], []
        for column, value in where.items():
            if column not in t.column_names:
                raise ValueError(f"{table} has no column {column!r}")
            if isinstance(value, list | tuple | set | frozenset):  # any of these values
                values = list(value)
                clauses.append(
                    f"{column} IN ({', '.join([p] * len(values))})" if values else "1 = 0"
                )
                params.extend(values)
                continue
            clauses.append(f"{column} = {p}")
            params.append(value)
        if after is not None:
            clauses.append(
                f"({', '.join(order_by)}) {'<' if descending else '>'} "
                f"({', '.join([p] * len(order_by))})"
            )
            params.extend(after)
        direction = " DESC" if descending else ""
        query = (
            f"SELECT {', '.join(t.column_names)} FROM {self._store.table_name(table)}"
            + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
            + f" ORDER BY {', '.join(c + direction for c in order_by)}"
            + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        with self._store.dialect.read() as cur:
            cur.execute(query, params)
            return [_decode(t, values) for values in cur.fetchall()]
