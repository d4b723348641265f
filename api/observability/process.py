"""What every process that runs on its own adds: its metrics address and, for the
dispatcher and the pod adapter, a heartbeat the API server's readiness reads."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from api.observability.server import MetricsServer

if TYPE_CHECKING:
    from api.bootstrap import Core
    from api.processes import Supervisor

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0
HEARTBEAT_ROLES = ("dispatcher", "pod_adapter")


def observe_process(danube: Core, supervisor: Supervisor, role: str, address: str) -> None:
    """Serve ``/metrics`` on ``address`` (unless empty) and beat for ``role``."""
    if address:
        server = MetricsServer(danube, address)
        supervisor.add("metrics", server)
        log.info("metrics are served", extra={"address": address, "role": role})
    if role in HEARTBEAT_ROLES:
        supervisor.add("heartbeat", Heartbeat(danube, role))


class Heartbeat:
    """Beats every ``HEARTBEAT_SECONDS``; on a clean stop the role's row is removed."""

    def __init__(self, danube: Core, role: str, interval: float = HEARTBEAT_SECONDS) -> None:
        self.danube, self.role, self.interval = danube, role, interval

    def __call__(self, stopping: threading.Event) -> None:
        heartbeats = self.danube.store.heartbeats
        while True:
            try:
                heartbeats.beat(self.role)
            except Exception as error:  # the database is away: readiness will say so
                log.warning("heartbeat of %s not recorded: %s", self.role, error)
            if stopping.wait(self.interval):
                break
        try:
            heartbeats.forget(self.role)
        except Exception as error:
            log.warning("heartbeat of %s not removed: %s", self.role, error)
