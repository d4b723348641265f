"""/metrics on the API server: values follow jobs as they run, no label carries an id,
totals come from the read models (a restart keeps them), and config.yaml can turn the
endpoint off."""

from __future__ import annotations

import contextlib
import re

import pytest

from api.bootstrap import Danube
from domain.runs.states import JobState
from tests.integration.observability.conftest import (
    ADMIN,
    accept_observability,
    catch_up,
    request,
    run_a_job,
    scrape,
    serve,
    value,
)
from tests.support import http_get

NAMED_IN_THE_ISSUE = (
    "danube_jobs_total", "danube_job_duration_seconds", "danube_step_duration_seconds",
    "danube_active_jobs", "danube_job_queue_size", "danube_job_timeouts_total",
    "danube_events_appended_total", "danube_projection_lag_events",
    "danube_projection_lag_seconds", "danube_db_query_duration_seconds",
    "danube_k8s_api_calls_total", "danube_log_bytes_written_total",
    "danube_subscriptions_active", "danube_webhook_deliveries_total",
    "danube_config_sync_total", "danube_config_sync_last_success_timestamp_seconds",
    "danube_secret_requests_total", "danube_auth_denied_total",
    "danube_reaper_freed_bytes_total",
)  # fmt: skip
ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{40}")


def test_every_metric_the_issue_names_is_exported(danube: Danube, url: str) -> None:
    status, body = http_get(f"{url}/metrics", timeout=10)
    assert status == 200
    text = body.decode()
    missing = [name for name in NAMED_IN_THE_ISSUE if f"# TYPE {name} " not in text]
    assert missing == []
    samples = scrape(url)
    assert value(samples, "danube_auth_denied_total") >= 0  # process-wide: others' 401s count
    assert value(samples, "danube_subscriptions_active") == 0
    assert value(samples, "danube_reaper_freed_bytes_total", kind="logs") >= 0  # process-wide


def test_metric_values_follow_jobs_as_they_run_without_any_id_label(
    danube: Danube, url: str
) -> None:
    catch_up(danube)
    before = scrape(url)
    run_a_job(danube)
    run_a_job(danube, JobState.FAILURE)
    run_a_job(danube, JobState.TIMEOUT)
    run_id, job_id = request(danube)  # stays queued
    catch_up(danube)
    after = scrape(url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("danube_jobs_total", pipeline="web", status="success") == 1
    assert grew("danube_jobs_total", pipeline="web", status="failure") == 1
    assert grew("danube_jobs_total", pipeline="web", status="timeout") == 1
    assert grew("danube_job_timeouts_total") == 1
    assert value(after, "danube_job_queue_size") == 1
    assert value(after, "danube_active_jobs") == 0
    assert grew("danube_job_duration_seconds_count", pipeline="web") == 3
    assert grew("danube_step_duration_seconds_count", pipeline="web") == 3
    assert grew("danube_events_appended_total") >= 4 * 1 + 3 * 5
    assert grew("danube_db_query_duration_seconds_count", operation="append") >= 1
    assert value(after, "danube_projection_lag_events", projection="runs") == 0

    danube.runs.schedule_job(run_id, job_id, ADMIN)
    catch_up(danube)
    now = scrape(url)
    assert value(now, "danube_job_queue_size") == 0
    assert value(now, "danube_active_jobs") == 1

    for (name, labels), _ in now.items():
        for label, label_value in labels:
            assert "id" not in label.split("_"), (name, label)
            assert not ID.search(label_value), (name, label, label_value)


def test_a_restart_keeps_the_job_totals(danube: Danube) -> None:
    for _ in range(2):
        run_a_job(danube)
    catch_up(danube)
    url, supervisor = serve(danube)
    first = value(scrape(url), "danube_jobs_total", pipeline="web", status="success")
    supervisor.stop()
    assert first == 2
    from api.bootstrap import build  # the same stores, everything else built anew

    again = build(danube.settings)
    try:
        url, supervisor = serve(again)
        try:
            samples = scrape(url)
        finally:
            supervisor.stop()
    finally:
        again.close()
    assert value(samples, "danube_jobs_total", pipeline="web", status="success") == 2


def test_metrics_enabled_false_in_config_yaml_turns_the_endpoint_off(
    danube: Danube, url: str
) -> None:
    assert http_get(f"{url}/metrics")[0] == 200
    accept_observability(danube, metrics_enabled="false")
    status, body = http_get(f"{url}/metrics")
    assert status == 404 and b"metrics_enabled: false" in body
    accept_observability(danube, metrics_enabled="true")
    assert http_get(f"{url}/metrics")[0] == 200


def test_webhook_deliveries_and_config_syncs_are_counted(danube: Danube, url: str) -> None:
    import urllib.error
    import urllib.request

    from api.observability.hooks import SyncHealth

    before = scrape(url)
    unsigned = urllib.request.Request(
        f"{url}/webhooks/github", data=b"{}", headers={"X-GitHub-Event": "push"}, method="POST"
    )
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(unsigned, timeout=10)
    SyncHealth(60, clock=lambda: 1_700_000_000.0).observe("unchanged")
    after = scrape(url)
    labels = {"forge": "github", "result": "rejected"}
    assert value(after, "danube_webhook_deliveries_total", **labels) == (
        value(before, "danube_webhook_deliveries_total", **labels) + 1
    )
    assert value(after, "danube_config_sync_total", status="unchanged") == (
        value(before, "danube_config_sync_total", status="unchanged") + 1
    )
    assert value(after, "danube_config_sync_last_success_timestamp_seconds") == 1_700_000_000


def test_secret_values_handed_to_jobs_are_counted(danube: Danube, url: str) -> None:
    run_id, job_id = request(danube)
    danube.runs.schedule_job(run_id, job_id, ADMIN)
    danube.runs.start_job(run_id, job_id, ADMIN)
    before = value(scrape(url), "danube_secret_requests_total")
    danube.runs.record_secret_read(run_id, job_id, "token", "pipeline")
    assert value(scrape(url), "danube_secret_requests_total") == before + 1


def test_a_separate_processs_metrics_address_obeys_metrics_enabled_too(danube: Danube) -> None:
    from api.observability.server import MetricsServer
    from api.processes import Supervisor

    server, supervisor = MetricsServer(danube, "127.0.0.1:0"), Supervisor()
    supervisor.add("metrics", server)
    try:
        status, body = http_get(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200 and b"danube_events_appended_total" in body
        assert b"danube_jobs_total" not in body  # the API server's alone
        accept_observability(danube, metrics_enabled="false")
        assert http_get(f"http://127.0.0.1:{server.port}/metrics")[0] == 404
    finally:
        supervisor.stop()


def test_a_metrics_address_in_use_stops_start_up_with_a_clear_error(danube: Danube) -> None:
    import socket

    from api.commands.errors import CommandError
    from api.observability.server import MetricsServer

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"cannot listen for metrics on 127.0.0.1:{port}"):
            MetricsServer(danube, f"127.0.0.1:{port}")
