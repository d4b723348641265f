"""The one-line hooks the rest of ``api/`` calls where something worth counting
happens (webhook deliveries, config syncs)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from starlette.responses import Response

from api.observability.metrics import danube_metrics

SUCCESSFUL_SYNCS = ("accepted", "unchanged", "rejected", "force-pushed")


def count_delivery(forge: str, response: Response) -> None:
    """One webhook delivery, labelled by what the reply said became of it."""
    try:
        result = str(json.loads(bytes(response.body)).get("status", ""))
    except (ValueError, AttributeError):
        result = ""
    danube_metrics().webhook_deliveries.labels(forge, result or str(response.status_code)).inc()


class SyncHealth:
    """The config sync's record for metrics and readiness: a sync that fetched and read
    the repository succeeded, even if the config it found was rejected (the previous one
    stays in force); a failed fetch or an error did not."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.time) -> None:
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last_success: float | None = None
        self.last_outcome = ""

    def observe(self, outcome: str) -> None:
        now = self.clock()
        self.last_outcome = outcome
        if outcome in SUCCESSFUL_SYNCS:
            self.last_success = now
        danube_metrics().observe_config_sync(outcome, now)

    def verdict(self) -> tuple[bool, str]:
        """Fresh while the last success (or, before the first, the start) is younger
        than three intervals."""
        since = self.last_success if self.last_success is not None else self.started
        age = self.clock() - since
        limit = 3 * self.interval
        if age <= limit:
            what = "never synced yet" if self.last_success is None else "last success"
            return True, f"{what} {age:.0f}s ago (limit {limit:.0f}s)"
        if self.last_success is None:
            return False, f"no successful sync in {age:.0f}s since start (limit {limit:.0f}s)"
        return False, (
            f"last successful sync {age:.0f}s ago, older than {limit:.0f}s "
            f"(last outcome: {self.last_outcome or 'none'})"
        )
