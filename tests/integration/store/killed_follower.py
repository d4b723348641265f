"""A follower process that is SIGKILLed inside a batch transaction, at a known point:
in batch ``KILL_IN_BATCH`` (of ``BATCH_SIZE`` notifications), after the batch's rows and
its new tracking position were written and before the transaction commits.

    python -m tests.integration.store.killed_follower   # config from DANUBE_TEST_STORE (JSON)

Fault injection for tests only: the view store is the real one, told to die at that point.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from adapters.sql.dialect import Cursor
from adapters.sql.projector import Projector
from adapters.sql.store import SqlStore, StoreConfig
from adapters.sql.viewstore import SqlViewStore
from projections.runs import RunsProjection


class DiesInBatch(SqlViewStore):
    def __init__(self, *args: Any, batch: int) -> None:
        super().__init__(*args)
        self.batches, self.kill_in = 0, batch

    def set_position(self, cur: Cursor, name: str, position: int) -> None:
        super().set_position(cur, name, position)
        if name == RunsProjection.name:
            self.batches += 1
            if self.batches == self.kill_in:
                os.kill(os.getpid(), signal.SIGKILL)  # rows and position written, no commit


def main() -> None:
    raw = json.loads(os.environ["DANUBE_TEST_STORE"])
    raw["data_dir"] = Path(raw["data_dir"]) if raw.get("data_dir") else None
    store = SqlStore(StoreConfig(**raw, create_tables=False))
    views = DiesInBatch(store.dialect, batch=int(os.environ["KILL_IN_BATCH"]))
    projector = Projector(store.feed, views, RunsProjection(), int(os.environ["BATCH_SIZE"]))
    projector.start()
    while projector.step():
        pass
    raise SystemExit("caught up without being killed")


if __name__ == "__main__":
    main()
