"""Offsets and limits are bounded and declared: out of bounds is a 422 naming the
parameter, never a 500 or a silent clamp."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from api.processes import HttpServer
from api.server import create_app
from tests.integration.execution.conftest import Embedded
from tests.support import free_port, http_get, sign_in, wait_until


@pytest.fixture
def base_url(embedded: Embedded) -> Iterator[str]:
    port = free_port()
    embedded.supervisor.add("http", HttpServer(create_app(embedded.danube), "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_get(f"{url}/health")[0] == 200, what="the HTTP server")
    sign_in(url, embedded.danube)
    return url


def test_a_huge_log_offset_is_refused_by_name_and_the_largest_allowed_reads_nothing(
    embedded: Embedded, base_url: str
) -> None:
    _, job_id = embedded.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo one")
    """)
    assert embedded.finished(job_id).state == "success"
    logs = f"{base_url}/api/v1/jobs/{job_id}/logs"
    for offset in (2**63 - 1, 2**63, 2**53 + 1):
        status, body = http_get(f"{logs}?offset={offset}")
        assert status == 422, (offset, body)
        assert "offset" in body.decode()
    status, body = http_get(f"{logs}?offset={2**53}&limit={4 * 1024 * 1024}")
    assert (status, body) == (200, b"")
    assert embedded.danube.logs.store.read(job_id.hex, 2**63 - 1, 2**63 - 1) == []


@pytest.mark.parametrize("limit", ["0", "-1", "0.0", "501", "x"])
def test_delivery_limits_out_of_range_are_refused_not_clamped(base_url: str, limit: str) -> None:
    status, body = http_get(f"{base_url}/api/v1/webhooks/deliveries?limit={limit}")
    assert status == 422, body
    assert "limit" in json.loads(body)["detail"][0]["loc"]
