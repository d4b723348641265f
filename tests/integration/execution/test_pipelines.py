"""A danubefile runs end to end: steps, output, outcomes, failures."""

from __future__ import annotations

from tests.integration.execution.conftest import Embedded


def test_a_pipeline_runs_its_steps_and_succeeds(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo hello; echo oops >&2", name="hello")
            step.run("echo $GREETING", env={"GREETING": "hi there"})
            step.run("test -z \\"$GREETING\\" && echo fresh shell")
    """)
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    log = embedded.log(job_id).decode()
    section = log.split("── step 1: hello\n")[1].split("── step 1 succeeded")[0]
    assert sorted(section.splitlines()) == ["hello", "oops"]  # stdout and stderr, any order
    assert "hi there\n" in log and "fresh shell\n" in log
    steps = embedded.danube.views.steps(job_id)
    assert [(s.number, s.state, s.exit_code) for s in steps] == [
        (1, "success", 0),
        (2, "success", 0),
        (3, "success", 0),
    ]
    first = steps[0]
    stored = embedded.log(job_id)[first.log_start : first.log_end]
    assert sorted(stored.splitlines()) == [b"hello", b"oops"]


def test_a_failing_step_fails_the_job_and_names_the_step(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo before")
            step.run("exit 7", name="tests")
            step.run("echo never")
    """)
    job = embedded.finished(job_id)
    assert job.state == "failure"
    assert "tests" in job.reason and "7" in job.reason
    assert b"never" not in embedded.log(job_id)
    assert [s.exit_code for s in embedded.danube.views.steps(job_id)] == [0, 7]


def test_check_false_and_capture_give_the_pipeline_the_result(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            code = step.run("exit 3", check=False)
            out = step.run("printf 'v1.2.3\\\\n'; echo noise >&2", capture=True)
            print(f"code={code} out={out.strip()}")
    """)
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    assert b"code=3 out=v1.2.3" in embedded.log(job_id)


def test_a_user_exception_fails_the_job_with_its_traceback_in_the_log(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        from danube import pipeline, step

        def deploy() -> None:
            raise RuntimeError("the cluster said no")

        @pipeline(name="demo")
        def build() -> None:
            step.run("true")
            deploy()
    """)
    job = embedded.finished(job_id)
    assert job.state == "failure"
    log = embedded.log(job_id).decode()
    assert "Traceback" in log and "RuntimeError: the cluster said no" in log
    assert "in deploy" in log


def test_a_crashing_coordinator_fails_the_job(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        import os
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("true")
            os._exit(5)
    """)
    job = embedded.finished(job_id)
    assert job.state == "failure"
    assert "exited with code 5" in job.reason


def test_output_of_any_bytes_and_size_is_kept(embedded: Embedded) -> None:
    _, job_id = embedded.request("""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("printf '\\\\033[31mred\\\\033[0m \\\\377\\\\376 bytes\\\\n'")
            step.run("head -c 1048576 /dev/zero | tr '\\\\0' x")
    """)
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    log = embedded.log(job_id)
    assert b"\x1b[31mred\x1b[0m \xff\xfe bytes\n" in log
    assert b"x" * 1048576 in log
    second = embedded.danube.views.steps(job_id)[1]
    assert second.log_end - second.log_start == 1048576


def test_a_missing_danubefile_fails_clearly(embedded: Embedded) -> None:
    _, job_id = embedded.request("# not a pipeline\n", script="ci/missing.py")
    job = embedded.finished(job_id)
    assert job.state == "failure"
    assert b"missing.py" in embedded.log(job_id)
