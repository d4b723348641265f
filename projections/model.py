"""What a projection is: a total fold of domain events into rows of declared tables.

A projection never touches a database. It declares its tables, says which event topics
it folds, and applies one event at a time to a ``Rows`` unit of work. The SQL adapter
runs it in batches: it loads rows on demand, lets the projection change them in memory,
then writes every changed row and the tracking position in one transaction, so a batch
of many events is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, Protocol

Row = dict[str, Any]


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    REAL = "real"
    JSON = "json"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = ColumnType.TEXT


@dataclass(frozen=True)
class Table:
    """Every table has a text primary key named ``id`` (declared implicitly)."""

    name: str
    columns: tuple[Column, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    # Columns an older version had and an upgrade drops (what no read model may keep).
    retired: tuple[str, ...] = ()

    # Computed once per table: every row read or written asks (cached_property writes the
    # instance's __dict__, which a frozen dataclass allows).
    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return ("id", *(c.name for c in self.columns))

    @cached_property
    def json_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.type == ColumnType.JSON)

    def blank(self, row_id: str) -> Row:
        row: Row = {name: None for name in self.column_names}
        row["id"] = row_id
        return row


class Rows(Protocol):
    """A projection's view of its tables during one batch."""

    def get(self, table: str, row_id: str) -> Row | None:
        """The row as of this batch (including changes made earlier in it), or None."""

    def put(self, table: str, row: Row) -> None:
        """Insert or replace a whole row (all declared columns)."""

    def delete(self, table: str, row_id: str) -> None: ...


class Projection(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tables(self) -> tuple[Table, ...]: ...
    @property
    def topics(self) -> frozenset[str]: ...

    def apply(self, event: Any, rows: Rows) -> None:
        """Fold one event. Must be total: an unexpected event shape or a missing row is
        skipped, never raised, because an exception would halt the follower on the same
        event forever."""


class RowReader(Protocol):
    """Read access to a projection's tables, for query interfaces."""

    def get(self, table: str, row_id: str) -> Row | None: ...

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
        """Rows whose columns equal ``where`` (a list, tuple or set value: any of its
        values), ordered by ``order_by`` (keyset pagination: ``after`` holds the
        ``order_by`` values of the last row seen)."""


class PositionedReader(RowReader, Protocol):
    """A reader that also says how far its projection has folded the log: what it reads
    is at least that fresh, so a query interface may keep an answer until it moves."""

    def position(self) -> int: ...
