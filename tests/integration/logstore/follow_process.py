"""A second process that follows one job's log through its own ``SqlStore`` and copies
each chunk to stdout as it arrives, until the log ends with ``END\\n``.

    python -m tests.integration.logstore.follow_process CONFIG_JSON JOB_ID POLL_SECONDS

It prints ``ready`` once it follows (on PostgreSQL: once it LISTENs)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from adapters.sql.store import SqlStore, StoreConfig

END = b"END\n"


def main(config_json: str, job_id: str, poll: str) -> int:
    values = json.loads(config_json)
    data_dir = values.pop("data_dir")
    config = StoreConfig(**values, data_dir=Path(data_dir) if data_dir else None)
    store = SqlStore(config)
    store.logs.poll_interval = float(poll)
    store.start_listening()
    if store.listener is not None and not store.listener.connected.wait(10):
        return 3
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    received = b""
    try:
        for chunk in store.logs.follow(job_id, 0, threading.Event()):
            out.write(chunk.data)
            out.flush()
            received += chunk.data
            if received.endswith(END):
                return 0
    finally:
        store.close()
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
