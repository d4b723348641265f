"""What a danubefile sees of its job through the real launch path (dispatcher, reconciler,
launcher, local executor, coordinator): every ``ctx`` field, the pipeline chosen by the
entrypoint, and its own output in the order it wrote it."""

from __future__ import annotations

import json
from typing import Any

from domain.ids import JobId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from tests.integration.execution.conftest import USER, Embedded

REPORTS_CTX = """
    import json
    from danube import ctx, pipeline, step

    @pipeline(name="{name}")
    def build() -> None:
        fields = ("job_id", "pipeline", "repo", "branch", "commit_sha", "trigger_type",
                  "trigger_event", "trigger_ref", "workspace")
        print("ctx=" + json.dumps({{field: getattr(ctx, field) for field in fields}}))
        step.run("true", image="node:22", name="first")
        step.run("true", image="golang:1.23", name="second")
"""


def ctx_seen(embedded: Embedded, job_id: JobId) -> dict[str, Any]:
    job = embedded.finished(job_id)
    log = embedded.log(job_id).decode(errors="replace")
    assert job.state == "success", log
    [line] = [line for line in log.splitlines() if line.startswith("ctx=")]
    return json.loads(line.removeprefix("ctx="))  # type: ignore[no-any-return]


def test_a_danubefile_sees_every_ctx_field_of_its_job(embedded: Embedded) -> None:
    path, commit = embedded.repo(REPORTS_CTX.format(name="build"))
    run_id = new_run_id()
    embedded.danube.runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline="web",
            repository=str(path),
            ref="refs/heads/main",
            commit_sha=commit,
            trigger={"type": "push", "ref": "refs/heads/main", "delivery_id": "d-1"},
            spec={},
        ),
        USER,
    )
    job_id = job_id_for(run_id, "main")
    workspaces = (embedded.tmp / "data").resolve() / "workspaces"
    assert ctx_seen(embedded, job_id) == {
        "job_id": str(job_id),
        "pipeline": "web",
        "repo": str(path),
        "branch": "main",
        "commit_sha": commit,
        "trigger_type": "webhook",
        "trigger_event": "push",
        "trigger_ref": "refs/heads/main",
        "workspace": str(workspaces / job_id.hex),
    }
    log = embedded.log(job_id).decode()
    note = "note: the local executor cannot honour image= (step first asked for node:22)"
    assert log.count(note) == 1
    assert log.count("cannot honour image=") == 1, "said once per job, not at every step"


SEVERAL = """
    import json
    from danube import ctx, pipeline

    @pipeline(name="lint")
    def lint() -> None:
        print("ran=lint pipeline=" + ctx.pipeline)

    @pipeline(name="demo")
    def demo() -> None:
        print("ran=demo pipeline=" + ctx.pipeline)
"""


def test_the_entrypoint_chooses_the_function_and_ctx_pipeline_stays_the_pipeline(
    embedded: Embedded,
) -> None:
    _, job_id = embedded.request(SEVERAL, pipeline="demo", entrypoint="lint")
    assert embedded.finished(job_id).state == "success"
    assert b"ran=lint pipeline=demo\n" in embedded.log(job_id)


def test_without_an_entrypoint_the_function_named_like_the_pipeline_runs(
    embedded: Embedded,
) -> None:
    _, job_id = embedded.request(SEVERAL, pipeline="demo")
    assert embedded.finished(job_id).state == "success"
    assert b"ran=demo pipeline=demo\n" in embedded.log(job_id)


def test_what_the_pipeline_prints_before_it_raises_comes_before_the_traceback(
    embedded: Embedded,
) -> None:
    _, job_id = embedded.request("""
        import sys
        from danube import pipeline

        @pipeline(name="demo")
        def build() -> None:
            for i in range(2000):
                print(f"line {i}")
            sys.stderr.write("a warning\\n")
            print("the last line")
            raise RuntimeError("boom")
    """)
    assert embedded.finished(job_id).state == "failure"
    log = embedded.log(job_id)
    assert log.index(b"line 1999\n") < log.index(b"a warning\n") < log.index(b"the last line\n")
    assert log.index(b"the last line\n") < log.index(b"Traceback (most recent call last)")
    assert log.index(b"Traceback") < log.index(b"RuntimeError: boom")
