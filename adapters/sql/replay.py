"""Rebuild read models from event 1 into fresh tables; compare them with the live ones,
or swap them in.

The comparison is made at one position: the replay is caught up to the live tracking
position and both are read in one snapshot; if the live projector moved meanwhile, the
replay catches up again (a few rounds at most on a busy system)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.sql.projector import EventFeed, Projector
from adapters.sql.viewstore import SqlViewStore
from projections.model import Projection, Row

REPLAY_PREFIX = "replay_"
MAX_ROUNDS = 20


@dataclass
class ReplayResult:
    projection: str
    position: int
    events: int
    seconds: float
    differences: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.differences


def replay(
    feed: EventFeed,
    live: SqlViewStore,
    projection: Projection,
    *,
    check: bool,
    batch_size: int = 2000,
) -> ReplayResult:
    fresh = SqlViewStore(live.dialect, prefix=REPLAY_PREFIX)
    fresh.drop(projection)
    fresh.ensure(projection, indexes=False)
    live.ensure(projection)
    projector = Projector(feed, fresh, projection, batch_size)
    projector.start()
    started = time.perf_counter()
    events = 0
    for _ in range(MAX_ROUNDS):
        target = live.position(projection.name) if check else feed.max_position()
        events += projector.catch_up(stop_at=target)
        if not check:
            result = ReplayResult(projection.name, projector.position, events, 0.0)
            swap_in(live, fresh, projection)
            break
        position, differences = compare(live, fresh, projection)
        if position is not None:
            result = ReplayResult(projection.name, position, events, 0.0, differences)
            fresh.drop(projection)
            break
    else:
        raise RuntimeError(f"{projection.name}: the live projection kept moving; try again")
    result.seconds = time.perf_counter() - started
    return result


def compare(
    live: SqlViewStore, fresh: SqlViewStore, projection: Projection, limit: int = 20
) -> tuple[int | None, list[str]]:
    """Compare in one snapshot. Returns (None, []) when the replay is not at the live
    position yet, else the position and up to ``limit`` differences."""
    with live.dialect.read() as cur:
        if live.read_position(cur, projection.name, lock=False) != fresh.read_position(
            cur, projection.name, lock=False
        ):
            return None, []
        position = live.read_position(cur, projection.name, lock=False)
        differences: list[str] = []
        for table in projection.tables:
            columns = ", ".join(table.column_names)
            tables = (live.table_name(table.name), fresh.table_name(table.name))
            rows: list[dict[str, Row]] = []
            for name in tables:
                cur.execute(f"SELECT {columns} FROM {name} ORDER BY id")
                rows.append(
                    {r[0]: dict(zip(table.column_names, r, strict=True)) for r in cur.fetchall()}
                )
            differences += _diff(table.name, rows[0], rows[1])
        return position, differences[:limit]


def _diff(table: str, live: dict[str, Row], fresh: dict[str, Row]) -> list[str]:
    found = []
    for row_id in sorted(live.keys() | fresh.keys()):
        a, b = live.get(row_id), fresh.get(row_id)
        if a is None:
            found.append(f"{table} {row_id}: missing from the live view")
        elif b is None:
            found.append(f"{table} {row_id}: in the live view but not in the replay")
        elif a != b:
            changed = [k for k in a if a[k] != b.get(k)]
            detail = ", ".join(f"{k}: live={a[k]!r} replay={b[k]!r}" for k in changed[:4])
            found.append(f"{table} {row_id}: {detail}")
    return found


def swap_in(live: SqlViewStore, fresh: SqlViewStore, projection: Projection) -> None:
    """Replace the live tables by the replayed ones and move the live tracking position
    to the replay's, in one transaction. A live projector notices its position moved and
    continues from there."""
    dialect = live.dialect
    p = dialect.placeholder
    with dialect.write() as cur:
        position = fresh.read_position(cur, projection.name, lock=False)
        live.read_position(cur, projection.name, lock=True)
        for table in projection.tables:
            cur.execute(f"DROP TABLE IF EXISTS {live.table_name(table.name)}")
            cur.execute(
                f'ALTER TABLE {fresh.table_name(table.name)} RENAME TO "{live.prefix}{table.name}"'
            )
        live.create_indexes(cur, projection.tables)
        live.set_position(cur, projection.name, position)
        cur.execute(
            f"DELETE FROM {fresh.table_name('tracking')} WHERE id = {p}", (projection.name,)
        )
    live.progress(projection.name).announce(position)


def replay_all(
    feed: EventFeed, live: SqlViewStore, projections: Sequence[Projection], *, check: bool
) -> list[ReplayResult]:
    return [replay(feed, live, projection, check=check) for projection in projections]
