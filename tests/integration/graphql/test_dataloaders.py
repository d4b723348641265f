"""No N+1: a page of runs with their jobs, steps and artifacts costs the same number of
read-model reads for 5 runs as for 50 (DataLoaders over batch getters)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from api.app.principal import OPERATOR
from api.app.wiring import application
from api.graphql.context import context_of
from api.graphql.schema import build_schema
from domain.cause import Cause
from projections.model import Row, RowReader
from projections.runs_view import RunsView
from tests.integration.execution.conftest import Embedded
from tests.support import wait_until

PAGE = """query P($first: Int!) { runs(filter: {pipeline: "many"}, first: $first) { edges { node {
  id jobs { id steps { number } artifacts { name } } } } } }"""


class CountingReader:
    """The real reader, counting the reads that go through it."""

    def __init__(self, reader: RowReader) -> None:
        self._reader, self.reads = reader, 0

    def get(self, table: str, row_id: str) -> Row | None:
        self.reads += 1
        return self._reader.get(table, row_id)

    def find(self, table: str, where: Mapping[str, Any], **options: Any) -> list[Row]:
        self.reads += 1
        return self._reader.find(table, where, **options)


def reads_for(embedded: Embedded, first: int) -> int:
    danube = embedded.danube
    counting = CountingReader(danube.store.views.reader(danube.projections[0]))
    app = application(danube)
    queries = app.queries
    queries._views = RunsView(counting)  # the same queries, over the counting reader
    schema = build_schema()
    result = asyncio.run(
        schema.execute(
            PAGE, variable_values={"first": first}, context_value=context_of(app, OPERATOR)
        )
    )
    assert result.errors is None, result.errors
    assert len(result.data["runs"]["edges"]) == first  # type: ignore[index]
    return counting.reads


def test_a_page_of_fifty_runs_costs_as_many_reads_as_a_page_of_five(embedded: Embedded) -> None:
    embedded.danube.system.start_draining(Cause(actor="user:test"))
    for _ in range(50):
        embedded.request("# queued\n", pipeline="many")
    wait_until(
        lambda: len(embedded.danube.views.runs(pipeline="many", limit=100).items) == 50,
        what="50 runs in the read model",
    )
    assert reads_for(embedded, 5) == reads_for(embedded, 50) <= 4
