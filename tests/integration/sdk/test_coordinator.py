"""`python -m danube.coordinator` as a real subprocess against a master on real gRPC."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from danube._proto.v1 import job_service_pb2 as pb

from .conftest import Finished, Master
from .test_sdk_resilience import refusing_address

Run = Callable[..., Finished]

SUCCESS = """
from danube import pipeline, step, secrets, artifacts, ctx

@pipeline(name="web")
def build() -> None:
    step.run("echo installing", name="deps")
    version = step.run("echo v1.2.3", capture=True).strip()
    step.run('echo "$VERSION" > version.txt', env={"VERSION": version}, timeout=600)
    assert step.run("exit 3", check=False) == 3
    assert secrets.get("PYPI_TOKEN") == "pypi-secret"
    artifacts.upload("version.txt")
    print(ctx.job_id, ctx.pipeline, ctx.branch, ctx.commit_sha[:7], ctx.trigger_type,
          ctx.trigger_event, ctx.workspace)
"""


def test_a_pipeline_that_succeeds_is_reported_and_exits_0(
    coordinator: Run, master: Master, workspace: Path
) -> None:
    master.fake.secrets["PYPI_TOKEN"] = "pypi-secret"

    finished = coordinator(SUCCESS)

    assert finished.code == 0, finished.stderr
    assert f"job-1 web main 0123456 webhook push {workspace}" in finished.stdout
    assert [r.name for r in master.fake.step_requests] == [
        "deps",
        "echo v1.2.3",
        'echo "$VERSION" > version.txt',
        "exit 3",
    ]
    assert master.fake.step_requests[2].timeout_seconds == 600
    assert master.fake.artifacts["version.txt"].path.read_text() == "v1.2.3\n"
    assert [(r.outcome, r.message) for r in master.fake.reports] == [(pb.JOB_OUTCOME_SUCCESS, "")]
    assert "pipeline 'web' succeeded" in finished.stderr


def test_a_failed_step_fails_the_job_with_its_name_and_exit_code(
    coordinator: Run, master: Master
) -> None:
    finished = coordinator(
        "from danube import pipeline, step\n"
        "@pipeline(name='web')\n"
        "def build():\n"
        "    step.run('true')\n"
        "    step.run('exit 4', name='tests')\n"
        "    step.run('echo never')\n"
    )

    assert finished.code == 1
    [report] = master.fake.reports
    assert report.outcome == pb.JOB_OUTCOME_FAILURE
    assert report.message == "step 'tests' failed with exit code 4"
    assert report.failed_step_number == 2
    assert 'danubefile.py", line 5, in build' in report.traceback
    assert "StepFailedError" in finished.stderr
    assert len(master.fake.step_requests) == 2


def test_an_exception_in_user_code_prints_the_traceback_and_fails_the_job(
    coordinator: Run, master: Master
) -> None:
    finished = coordinator(
        "from danube import pipeline\n"
        "def helper():\n"
        "    raise RuntimeError('no release notes')\n"
        "@pipeline\n"
        "def release():\n"
        "    helper()\n"
    )

    assert finished.code == 1
    assert "Traceback (most recent call last)" in finished.stderr
    assert 'danubefile.py", line 3, in helper' in finished.stderr
    [report] = master.fake.reports
    assert report.message == "RuntimeError: no release notes"
    assert "line 6, in release" in report.traceback
    assert "_main.py" not in report.traceback  # starts at the user's code


def test_sys_exit_in_the_pipeline_decides_the_outcome(coordinator: Run, master: Master) -> None:
    zero = coordinator(
        "import sys\nfrom danube import pipeline\n@pipeline\ndef b():\n    sys.exit(0)\n"
    )
    three = coordinator(
        "import sys\nfrom danube import pipeline\n@pipeline\ndef b():\n    sys.exit(3)\n"
    )

    assert (zero.code, three.code) == (0, 1)
    assert [(r.outcome, r.message) for r in master.fake.reports] == [
        (pb.JOB_OUTCOME_SUCCESS, ""),
        (pb.JOB_OUTCOME_FAILURE, "the pipeline called sys.exit(3)"),
    ]


def test_a_job_cancelled_meanwhile_exits_1_when_the_report_is_refused(
    coordinator: Run, master: Master
) -> None:
    finished = coordinator(
        "from danube import pipeline, step\n"
        "@pipeline\n"
        "def b():\n"
        "    step.run('true')\n"
        "    step.run('exit 1')\n",
    )
    master.fake.running = False
    refused = coordinator(None)

    assert finished.code == 1
    assert refused.code == 1
    assert "the job is no longer running" in refused.stderr


SEVERAL = """
from danube import pipeline, step

@pipeline(name="web")
def web() -> None:
    step.run("echo web")

@pipeline(name="docs")
def docs() -> None:
    step.run("echo docs")
"""


def test_danube_pipeline_chooses_among_several_pipelines(coordinator: Run, master: Master) -> None:
    finished = coordinator(SEVERAL, DANUBE_PIPELINE="docs")

    assert finished.code == 0, finished.stderr
    assert [r.command for r in master.fake.step_requests] == ["echo docs"]


def test_an_unknown_pipeline_name_fails_listing_the_defined_ones(
    coordinator: Run, master: Master
) -> None:
    finished = coordinator(SEVERAL, DANUBE_PIPELINE="api")

    assert finished.code == 1
    expected = "danubefile.py defines no pipeline named 'api'; it defines 'docs', 'web'"
    assert expected in finished.stderr
    assert [r.message for r in master.fake.reports] == [expected]
    assert master.fake.step_requests == []


def test_the_only_pipeline_runs_whatever_its_name(coordinator: Run, master: Master) -> None:
    finished = coordinator(
        "from danube import pipeline, step\n@pipeline\ndef ci():\n    step.run('echo ci')\n",
        DANUBE_PIPELINE="web",
    )

    assert finished.code == 0, finished.stderr
    assert len(master.fake.step_requests) == 1


def test_a_missing_script_fails_the_job_and_is_reported(coordinator: Run, master: Master) -> None:
    finished = coordinator(None, DANUBE_SCRIPT="ci/pipeline.py")

    assert finished.code == 1
    assert "pipeline.py not found" in finished.stderr
    assert master.fake.reports[0].outcome == pb.JOB_OUTCOME_FAILURE


def test_a_syntax_error_fails_the_job_with_the_error_reported(
    coordinator: Run, master: Master
) -> None:
    finished = coordinator("from danube import pipeline\n@pipeline\ndef build(:\n    pass\n")

    assert finished.code == 1
    assert "SyntaxError" in finished.stderr
    [report] = master.fake.reports
    assert report.message.startswith("cannot load danubefile.py: SyntaxError")
    assert "SyntaxError" in report.traceback


def test_the_token_is_read_from_the_token_file(
    coordinator: Run, master: Master, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(master.fake.token + "\n")

    finished = coordinator(
        "import os\n"
        "from danube import pipeline, step\n"
        "@pipeline\n"
        "def build():\n"
        "    step.run('true')\n"
        "    print('env token:', os.environ.get('DANUBE_JOB_TOKEN'))\n",
        DANUBE_JOB_TOKEN=None,
        DANUBE_JOB_TOKEN_FILE=str(token_file),
    )

    assert finished.code == 0, finished.stderr
    assert master.fake.metadata_seen[0]["authorization"] == f"Bearer {master.fake.token}"
    assert "env token: None" in finished.stdout


def test_the_token_from_env_is_hidden_from_user_code(coordinator: Run, master: Master) -> None:
    finished = coordinator(
        "import os, subprocess\n"
        "from danube import pipeline\n"
        "@pipeline\n"
        "def build():\n"
        "    subprocess.run(['env'], check=True)\n"
        "    raise ValueError(repr(os.environ))\n"
    )

    # run_coordinator asserts the token is absent from everything printed
    assert finished.code == 1
    assert master.fake.token not in master.fake.reports[0].traceback


def test_a_rejected_token_exits_2_without_printing_it(coordinator: Run, master: Master) -> None:
    master.fake.token = "the-real-token"

    finished = coordinator(
        "from danube import pipeline, step\n@pipeline\ndef b():\n    step.run('true')\n",
        DANUBE_JOB_TOKEN="a-wrong-token-value",
    )

    assert finished.code == 2
    assert "rejected this job's token" in finished.stderr
    assert "a-wrong-token-value" not in finished.stderr + finished.stdout


def test_an_unreachable_master_exits_2_after_the_retry_budget(
    coordinator: Run, master: Master
) -> None:
    with refusing_address() as address:
        finished = coordinator(
            "from danube import pipeline, step\n@pipeline\ndef b():\n    step.run('true')\n",
            DANUBE_MASTER_ADDRESS=address,
            DANUBE_RETRY_BUDGET_SECONDS="1",
        )

    assert finished.code == 2
    assert "could not reach the Danube master" in finished.stderr
    assert 1.0 <= finished.seconds < 10


def test_missing_configuration_exits_2(coordinator: Run) -> None:
    finished = coordinator("", DANUBE_MASTER_ADDRESS=None)

    assert finished.code == 2
    assert "DANUBE_MASTER_ADDRESS is not set" in finished.stderr


def test_the_entrypoint_chooses_the_pipeline_whatever_the_pipeline_is_called(
    coordinator: Run, master: Master
) -> None:
    finished = coordinator(SEVERAL, DANUBE_PIPELINE="web", DANUBE_ENTRYPOINT="docs")

    assert finished.code == 0, finished.stderr
    assert [r.command for r in master.fake.step_requests] == ["echo docs"]
