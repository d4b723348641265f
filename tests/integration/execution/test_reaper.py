"""The reaper over real parts: job logs in the log store, artifacts as files, images in a
real distribution registry; a fake clock moves time forward. A dry run changes nothing;
running jobs and images they use are untouched; what was removed is recorded (the audit
trail says where a job's log went); reads of reaped data answer 410 Gone with the date.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from api.processes import HttpServer
from api.retention import build_reaper
from api.server import create_app
from domain.cause import Cause
from domain.retention.aggregates import Reaping
from domain.retention.reaper import RetentionDays
from domain.retention.schedule import ReaperSchedule
from domain.runs.aggregates import Run
from tests.integration.execution.cli_support import cli_for
from tests.integration.execution.conftest import Embedded
from tests.integration.execution.registry import Registry, running_registry
from tests.support import free_port, http_get, sign_in, wait_until

OPS = Cause(actor="user:ops")
BUILD = """
    from danube import artifacts, pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo building; echo data > out.txt", name="make")
        artifacts.upload("out.txt")
"""
SLEEPER = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo still going; sleep 300", name="long")
"""
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def freed_metric(kind: str) -> float:
    value = REGISTRY.get_sample_value("danube_reaper_freed_bytes_total", {"kind": kind})
    return value or 0.0


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with running_registry(tmp_path / "registry") as running:
        yield running


@pytest.fixture
def base_url(embedded: Embedded) -> str:
    port = free_port()
    embedded.supervisor.add("http", HttpServer(create_app(embedded.danube), "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_get(f"{url}/health")[0] == 200, what="the HTTP server")
    sign_in(url, embedded.danube)
    return url


def test_reaping_old_job_data_and_images_keeps_running_jobs_and_answers_410(
    embedded: Embedded, registry: Registry, base_url: str
) -> None:
    danube = embedded.danube
    danube.settings = danube.settings.model_copy(update={"registry_url": registry.url})
    old_app = registry.push("team/app", "old", LONG_AGO)
    registry.push("team/app", "new", datetime.now(UTC))
    registry.push("team/tool", "v1", LONG_AGO)  # old, but a running job's worker image
    run_id, done = embedded.request(BUILD)
    assert embedded.finished(done).state == "success"
    _, running = embedded.request(SLEEPER, image=f"{registry.host}/team/tool:v1")
    wait_until(lambda: b"still going" in embedded.log(running), timeout=60, what="output")
    log_size = danube.logs.stored_size(done.hex)
    wait_until(lambda: danube.views.artifacts(done), what="the artifact rows")
    artifacts_size = sum(a.size for a in danube.views.artifacts(done))
    assert log_size > 0 and artifacts_size > 0

    later = datetime.now(UTC) + timedelta(days=31)  # past 30 days of logs and artifacts
    reaper = build_reaper(danube, danube.artifacts, clock=lambda: later)
    position = danube.store.log.position()
    dry = reaper.reap(RetentionDays(), OPS, dry_run=True)
    assert {(r.kind, r.what) for r in dry.removals} == {
        ("logs", done.hex),
        ("artifacts", done.hex),
        ("registry_images", f"team/app@{old_app}"),
    }
    assert dry.freed()["logs"] == log_size and dry.errors == []
    assert danube.store.log.position() == position, "a dry run records nothing"
    assert danube.logs.stored_size(done.hex) == log_size
    assert registry.tags("team/app") == ["new", "old"]

    freed_before = freed_metric("logs")
    report = reaper.reap(RetentionDays(), OPS)
    assert report.errors == []
    assert freed_metric("logs") - freed_before == log_size
    assert report.freed()["logs"] == log_size
    assert report.freed()["artifacts"] == artifacts_size
    assert report.freed()["registry_images"] > 0
    assert danube.logs.stored_size(done.hex) == 0
    assert not (danube.artifacts.root / done.hex).exists()
    assert registry.tags("team/app") == ["new"]
    assert registry.tags("team/tool") == ["v1"], "a running job's image is kept"
    assert b"still going" in embedded.log(running), "a running job's log is kept"

    # The audit trail: where did the log of job X go.
    reaped = [e for e in danube.store.log.events.get(run_id) if isinstance(e, Run.LogReaped)]
    assert [(e.policy, e.size, e.reaping) for e in reaped] == [
        ("retention.logs_days=30", log_size, report.reaping_id)
    ]
    from uuid import UUID

    reaping = danube.store.log.load(Reaping, UUID(report.reaping_id))
    assert reaping.freed == report.freed()
    assert reaping.images == [f"team/app@{old_app}"]

    job = wait_until(lambda: (j := danube.views.job(done)) and j.log_reaped and j, what="view")
    status, body = http_get(f"{base_url}/api/v1/jobs/{done.hex}/logs")
    assert status == 410
    detail = json.loads(body)["detail"]
    assert f"on {job.log_reaped['at']}" in detail and "retention.logs_days=30" in detail
    wait_until(lambda: danube.views.job(done).artifacts_reaped, what="artifacts reaped in view")
    status, body = http_get(f"{base_url}/api/v1/artifacts/{done.hex}/out.txt")
    assert status == 410 and "retention.artifacts_days=30" in json.loads(body)["detail"]
    assert http_get(f"{base_url}/api/v1/jobs/{running.hex}/logs")[0] == 200

    again = reaper.reap(RetentionDays(), OPS)
    assert again.removals == [] and again.errors == [], "nothing is removed twice"


def test_danube_reap_dry_run_prints_and_changes_nothing_then_reap_frees_bytes(
    embedded: Embedded, registry: Registry, tmp_path: Path
) -> None:
    old = registry.push("team/app", "old", LONG_AGO)
    registry.push("team/app", "new", datetime.now(UTC))
    cli = cli_for(embedded.danube.store.config, tmp_path)
    result = cli("reap", "--dry-run", DANUBE_REGISTRY_URL=registry.url)
    assert result.returncode == 0, result.stderr
    assert f"would remove image team/app@{old} (tags old, created 2020-01-01" in result.stdout
    assert "dry run: nothing was changed" in result.stdout
    assert registry.tags("team/app") == ["new", "old"]
    result = cli("reap", DANUBE_REGISTRY_URL=registry.url)
    assert result.returncode == 0, result.stderr
    assert f"removed image team/app@{old}" in result.stdout
    assert "freed: logs 0 bytes, artifacts 0 bytes, registry_images " in result.stdout
    assert "registry garbage-collect" in result.stdout
    assert registry.tags("team/app") == ["new"]


def test_an_unreachable_registry_is_reported_and_the_rest_is_still_reaped(
    embedded: Embedded, tmp_path: Path
) -> None:
    cli = cli_for(embedded.danube.store.config, tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("reap", DANUBE_REGISTRY_URL=url)
    assert result.returncode == 1
    assert f"problem: registry: cannot reach the registry {url}" in result.stdout
    assert "freed: " in result.stdout


def test_the_daily_pass_runs_once_per_scheduled_minute_across_replicas(
    embedded: Embedded,
) -> None:
    from adapters.cron.croniter_schedule import CroniterSchedule

    now = [datetime(2026, 3, 1, 2, 58, 30, tzinfo=UTC)]
    log = embedded.danube.store.log
    replicas = [ReaperSchedule(log, "0 3 * * *", CroniterSchedule.for_trigger, lambda: now[0])
                for _ in range(2)]  # fmt: skip
    position = log.position()
    assert [r.due() for r in replicas] == [None, None]
    assert log.position() == position, "nothing recorded before the first pass"
    now[0] = datetime(2026, 3, 1, 3, 0, 5, tzinfo=UTC)
    causes = [r.due() for r in replicas]
    assert [c is not None for c in causes] == [True, False]
    assert causes[0] is not None and causes[0].actor == "system:reaper"
    now[0] = datetime(2026, 3, 1, 3, 0, 40, tzinfo=UTC)
    assert [r.due() for r in replicas] == [None, None]
    now[0] = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # down for days: one pass, not three
    assert [r.due() is not None for r in replicas] == [True, False]
