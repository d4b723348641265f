"""`step.run(...)`: run a shell command in the job's worker.

Each step is a fresh `/bin/sh -c <command>` in the job's workspace: `cd` and `export`
do not carry over to the next step; pass variables with `env=`. The master stores the
step's output in the job log; the SDK does not print it (pass `on_output=` to see it).

Example:
    >>> from danube import step
    >>> step.run("pip install -r requirements.txt", name="deps")
    0
    >>> version = step.run("git describe --tags", capture=True).strip()
    >>> step.run("pytest -q", env={"VERSION": version}, timeout=600)
    0
    >>> step.run("./lint.sh", check=False)   # returns the exit code instead of raising
    1
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal, overload

from danube import _runtime
from danube._stepstream import StepRequest
from danube.errors import StepFailedError
from danube.results import OutputCallback, StepOutcome, StepResult

DEFAULT_NAME_LENGTH = 40
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")

__all__ = ["execute", "run"]


@overload
def run(
    command: str,
    name: str | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: Literal[False] = False,
    timeout: float | None = None,
    on_output: OutputCallback | None = None,
) -> int: ...


@overload
def run(
    command: str,
    name: str | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    *,
    capture: Literal[True],
    timeout: float | None = None,
    on_output: OutputCallback | None = None,
) -> str: ...


@overload
def run(
    command: str,
    name: str | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = False,
    timeout: float | None = None,
    on_output: OutputCallback | None = None,
) -> int | str: ...


def run(
    command: str,
    name: str | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = False,
    timeout: float | None = None,
    on_output: OutputCallback | None = None,
) -> int | str:
    """Run `command` as a step and wait for it.

    Args:
        command: shell command, run as `/bin/sh -c command` in the workspace.
        name: name shown in the UI and logs; default: the command's first 40 characters
            (secret values it read replaced by `***`). Shown masked, like the command.
        image: container image for this step; default: the job's worker image.
        env: extra environment variables for this step only.
        check: raise `StepFailedError` unless the step exits 0 (the default). With
            `check=False` a failed step returns its exit code (-1 if it had none, e.g. a
            timeout).
        capture: return the step's stdout (decoded as UTF-8, undecodable bytes replaced)
            instead of the exit code. The output still goes to the job log, and what is
            returned is what the log holds: masked (a secret the job read is `***`).
        timeout: seconds the step may run (rounded up to whole seconds); default: no
            step limit (the job's maximum duration still applies).
        on_output: called with each chunk of output as it arrives (`OutputChunk`).

    Returns:
        The exit code, or with `capture=True` the stdout as text.

    Raises:
        StepFailedError: with `check=True`, the step exited non-zero, timed out or was
            cancelled. It carries `exit_code`, `step_name`, `outcome` and `reason`.
        MasterUnavailableError: the master could not be reached for the retry budget.
        MasterError: the master refused the step (e.g. the job is no longer running).
    """
    result = execute(
        command, name, image, env, capture=capture, timeout=timeout, on_output=on_output
    )
    if check and result.outcome is not StepOutcome.SUCCESS:
        raise StepFailedError(
            result.name, result.exit_code, result.outcome, result.reason, result.number
        )
    if capture:
        return (result.stdout or b"").decode("utf-8", errors="replace")
    return result.exit_code


def execute(
    command: str,
    name: str | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    capture: bool = False,
    timeout: float | None = None,
    on_output: OutputCallback | None = None,
) -> StepResult:
    """Run `command` as a step and return everything about how it ended; never raises
    `StepFailedError`. Arguments as for `run()`; `result.stdout` holds the stdout bytes
    when `capture=True`."""
    checked_command, checked_env = _checked_command(command), _checked_env(env)
    timeout_seconds = _timeout_seconds(timeout)
    client = _runtime.client()
    request = StepRequest(
        number=client.next_step_number(),
        # A name cut from the command must not cut a secret in half, where no masking
        # could recognise it any more.
        name=name if name is not None else default_name(client.redact(command)),
        command=checked_command,
        image=image or "",
        env=checked_env,
        timeout_seconds=timeout_seconds,
        capture=capture,
    )
    return client.run_step(request, on_output)


def default_name(command: str) -> str:
    """The first 40 characters of the command, with runs of whitespace as one space."""
    return " ".join(command.split())[:DEFAULT_NAME_LENGTH]


def _checked_command(command: str) -> str:
    if not isinstance(command, str) or not command.strip():
        raise ValueError("step.run() needs a non-empty command string")
    return command


def _checked_env(env: Mapping[str, str] | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in (env or {}).items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            raise ValueError(
                f"invalid environment variable name {key!r}: letters, digits and '_', "
                "not starting with a digit (the server refuses any other)"
            )
        if not isinstance(value, str) or "\0" in value:
            raise ValueError(f"the value of environment variable {key!r} must be a string")
        checked[key] = value
    return checked


def _timeout_seconds(timeout: float | None) -> int:
    if timeout is None:
        return 0
    if isinstance(timeout, bool) or not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return math.ceil(timeout)
