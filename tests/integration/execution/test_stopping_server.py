"""A server that is stopping answers RunStep with UNAVAILABLE (the coordinator retries
elsewhere or later) instead of failing on a read model that will not catch up."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc
from tests.integration.execution.conftest import Embedded
from tests.support import wait_until

HOLD = """
    import os, time
    from danube import pipeline

    @pipeline(name="demo")
    def build() -> None:
        while not os.path.exists({marker!r}):
            time.sleep(0.05)
"""


def test_run_step_while_stopping_is_unavailable_at_once(embedded: Embedded, tmp_path: Path) -> None:
    marker = tmp_path / "release"
    _, job_id = embedded.request(HOLD.format(marker=str(marker)))
    try:
        wait_until(lambda: embedded.state(job_id) == "running", timeout=60, what="the job")
        embedded.supervisor.stop_followers()  # the read models stop moving, as when stopping
        embedded.danube.stop()
        service = pb_grpc.JobServiceStub(grpc.insecure_channel(embedded.execution.grpc.address))
        token = embedded.danube.tokens.issue(job_id)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as error:
            for _ in service.RunStep(
                pb.RunStepRequest(number=1, command="true", name="t"),
                metadata=[("authorization", f"Bearer {token}"), ("x-danube-job-id", str(job_id))],
                timeout=30,
            ):
                pass
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE, error.value.details()
        assert time.monotonic() - started < 5, "no wait for read models that will not move"
    finally:
        marker.touch()
