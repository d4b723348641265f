"""What a job says about itself outside its output — a step's command and name, its
outcome message — is masked like its log before it becomes an event, a read-model row or
a REST answer; steps still run their commands as given. The job's token is masked in its
log like a secret it read."""

from __future__ import annotations

from domain.cause import Cause
from tests.integration.execution.conftest import Embedded
from tests.integration.execution.records import Rest, places_holding

ADMIN = Cause(actor="user:admin")
VALUE = "s3cr3t-Value-42"
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2


def test_a_secret_in_a_steps_command_and_name_is_recorded_masked_but_run_as_given(
    embedded: Embedded,
) -> None:
    embedded.danube.secrets.set("demo", "DEPLOY_TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request("""
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            token = secrets.get("DEPLOY_TOKEN")
            step.run(f"[ {token} = $EXPECTED ] && echo ran-as-given", env={"EXPECTED": token})
            step.run(f"echo deploying with {token} >/dev/null", name=f"deploy {token}")
            step.run(f"echo {'x' * 25} {token}")  # its first 40 characters cut the secret
    """)
    job = embedded.finished(job_id)
    log = embedded.log(job_id)
    assert job.state == "success", log.decode(errors="replace")
    assert b"ran-as-given" in log
    assert b"s3cr3t" not in log
    steps = embedded.danube.views.steps(job_id)
    assert [(s.name, s.command) for s in steps[1:]] == [
        ("deploy ***", "echo deploying with *** >/dev/null"),
        (f"echo {'x' * 25} ***", f"echo {'x' * 25} ***"),
    ]
    assert steps[0].command == "[ *** = $EXPECTED ] && echo ran-as-given"
    with Rest(embedded.danube) as rest:
        shown = rest.json(f"/api/v1/jobs/{job_id}")["steps"]
    assert shown[1]["command"] == "echo deploying with *** >/dev/null"
    assert "command_sealed" not in shown[1] and "env_sealed" not in shown[1]
    assert places_holding(embedded.danube, VALUE, job_id) == []
    assert places_holding(embedded.danube, "s3cr3t", job_id) == []  # no half of it either


def test_a_token_in_a_steps_command_is_recorded_masked(embedded: Embedded) -> None:
    _, job_id = embedded.request(f"""
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo {GITHUB_TOKEN} | wc -c")
    """)
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    assert b"45" in embedded.log(job_id)  # the command ran with the token itself
    [step] = embedded.danube.views.steps(job_id)
    assert step.command == "echo *** | wc -c"
    assert places_holding(embedded.danube, GITHUB_TOKEN, job_id) == []


def test_a_secret_in_the_pipelines_exception_is_masked_in_the_jobs_reason(
    embedded: Embedded,
) -> None:
    embedded.danube.secrets.set("demo", "DEPLOY_TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request("""
        from danube import pipeline, secrets

        @pipeline(name="demo")
        def build() -> None:
            raise RuntimeError(f"could not deploy with {secrets.get('DEPLOY_TOKEN')}")
    """)
    job = embedded.finished(job_id)
    assert job.state == "failure"
    assert job.reason == "RuntimeError: could not deploy with ***"
    assert job.report == {"state": "failure", "reason": "RuntimeError: could not deploy with ***"}
    assert b"could not deploy with ***" in embedded.log(job_id)  # the traceback
    assert VALUE.encode() not in embedded.log(job_id)
    assert places_holding(embedded.danube, VALUE, job_id) == []


def test_the_job_token_is_masked_wherever_the_job_prints_its_environment(
    cold: Embedded,
) -> None:
    embedded = cold
    _, job_id = embedded.request("""
        import os
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            with open("/proc/self/environ", "rb") as environ:
                print(environ.read().replace(b"\\0", b"\\n").decode())
            step.run(
                "tr '\\\\0' '\\\\n' < /proc/$COORDINATOR/environ | grep DANUBE_JOB_TOKEN",
                env={"COORDINATOR": str(os.getpid())},
            )
    """)
    job = embedded.finished(job_id)
    log = embedded.log(job_id)
    assert job.state == "success", log.decode(errors="replace")
    token = embedded.danube.tokens.issue(job_id)
    assert token.encode() not in log
    assert log.count(b"DANUBE_JOB_TOKEN=***\n") == 2  # printed by the danubefile and the step
    assert places_holding(embedded.danube, token, job_id) == []
