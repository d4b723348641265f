"""step.run against a master on a real gRPC server."""

from __future__ import annotations

import pytest

from danube import OutputChunk, StepFailedError, StepOutcome, ctx, step

from .conftest import Master


def test_a_successful_step_returns_zero_and_its_output_is_streamed_back(sdk: Master) -> None:
    chunks: list[OutputChunk] = []

    code = step.run("echo hello; echo oops >&2", name="greet", on_output=chunks.append)

    assert code == 0
    run = sdk.fake.steps[1]
    assert run.request.name == "greet"
    assert sorted(b"".join(c.data for c in chunks).splitlines()) == [b"hello", b"oops"]
    assert {(c.stream, c.data.strip()) for c in chunks} == {
        ("stdout", b"hello"),
        ("stderr", b"oops"),
    }
    assert [c.offset for c in chunks] == [chunk[0] for chunk in run.chunks]


def test_a_failing_step_raises_with_its_exit_code_and_default_name(sdk: Master) -> None:
    with pytest.raises(StepFailedError) as raised:
        step.run("echo building;   exit 3")

    error = raised.value
    assert error.exit_code == 3
    assert error.step_name == "echo building; exit 3"
    assert error.outcome is StepOutcome.FAILURE
    assert error.number == 1
    assert str(error) == "step 'echo building; exit 3' failed with exit code 3"


def test_the_default_name_is_the_first_40_characters_of_the_command(sdk: Master) -> None:
    command = "echo " + "x" * 60

    step.run(command)

    assert sdk.fake.steps[1].request.name == command[:40]


def test_with_check_false_a_failing_step_returns_its_exit_code(sdk: Master) -> None:
    assert step.run("exit 7", check=False) == 7
    assert step.run("true", check=False) == 0


def test_capture_returns_stdout_as_text_without_stderr(sdk: Master) -> None:
    out = step.run(r"printf 'v1.2.3\n'; printf 'caf\303\251 \377\n'; echo noise >&2", capture=True)

    assert out == "v1.2.3\ncafé \ufffd\n"
    assert sdk.fake.steps[1].request.capture is True


def test_capture_with_check_false_returns_stdout_of_a_failing_step(sdk: Master) -> None:
    assert step.run("echo partial; exit 1", capture=True, check=False) == "partial\n"


def test_env_is_given_to_that_step_only(sdk: Master) -> None:
    first = step.run('echo "$VERSION"', env={"VERSION": "1.2.3"}, capture=True)
    second = step.run('echo "${VERSION-unset}"', capture=True)

    assert (first, second) == ("1.2.3\n", "unset\n")
    assert dict(sdk.fake.steps[1].request.env) == {"VERSION": "1.2.3"}


def test_the_timeout_is_forwarded_in_whole_seconds(sdk: Master) -> None:
    step.run("true", timeout=2.5)
    step.run("true")

    assert [sdk.fake.steps[n].request.timeout_seconds for n in (1, 2)] == [3, 0]


def test_a_step_that_times_out_raises_with_outcome_timeout(sdk: Master) -> None:
    with pytest.raises(StepFailedError) as raised:
        step.run("sleep 30", name="slow", timeout=1)

    assert raised.value.outcome is StepOutcome.TIMEOUT
    assert raised.value.exit_code != 0
    assert str(raised.value) == "step 'slow' timed out (timed out after 1s)"


def test_steps_are_numbered_in_call_order_and_carry_image_and_command(sdk: Master) -> None:
    step.run("true", name="a")
    step.run("true", name="b", image="node:22")
    result = step.execute("exit 4", name="c")

    requests = [sdk.fake.steps[n].request for n in (1, 2, 3)]
    assert [(r.number, r.name, r.image) for r in requests] == [
        (1, "a", ""),
        (2, "b", "node:22"),
        (3, "c", ""),
    ]
    assert (result.number, result.exit_code, result.outcome) == (3, 4, StepOutcome.FAILURE)


def test_every_call_carries_the_bearer_token_and_the_job_id(sdk: Master) -> None:
    step.run("true")

    metadata = sdk.fake.metadata_seen[0]
    assert metadata["authorization"] == f"Bearer {sdk.fake.token}"
    assert metadata["x-danube-job-id"] == sdk.fake.job_id


def test_ctx_reads_the_job_from_the_environment(sdk: Master) -> None:
    assert (ctx.job_id, ctx.pipeline, ctx.branch, ctx.trigger_type, ctx.trigger_event) == (
        "job-1",
        "web",
        "main",
        "webhook",
        "push",
    )
    assert ctx.commit_sha.startswith("0123456789abcdef")
    assert ctx.trigger_ref == "refs/heads/main"
    assert ctx.repo.endswith("/web.git")
    assert ctx.workspace == str(sdk.fake.workspace)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"command": ""}, "non-empty command"),
        ({"command": "true", "timeout": 0}, "timeout must be"),
        ({"command": "true", "env": {"A=B": "x"}}, "invalid environment variable"),
    ],
)
def test_invalid_arguments_are_rejected_before_calling_the_master(
    sdk: Master, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        step.run(**kwargs)  # type: ignore[call-overload]
    assert sdk.fake.calls() == 0
