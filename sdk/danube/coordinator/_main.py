"""Run one job's pipeline and report how it ended."""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import danube
from danube import _runtime
from danube._client import JobClient
from danube._config import TOKEN_VAR, ClientConfig
from danube._proto.v1 import job_service_pb2 as pb
from danube.coordinator._loader import load_script, pipelines_in, select_pipeline
from danube.errors import (
    AuthenticationError,
    ConfigurationError,
    DanubeError,
    JobNotRunningError,
    MasterError,
    MasterUnavailableError,
    PipelineDefinitionError,
    StepFailedError,
)

# The exit codes are the protocol's (CoordinatorExit): the master reads them when the
# coordinator exits without a report it could record.
EXIT_SUCCESS: int = pb.COORDINATOR_EXIT_SUCCESS
EXIT_FAILURE: int = pb.COORDINATOR_EXIT_FAILURE
EXIT_INFRASTRUCTURE: int = pb.COORDINATOR_EXIT_INFRASTRUCTURE

DEFAULT_SCRIPT = "danubefile.py"
MAX_MESSAGE_CHARS = 1_000
MAX_TRACEBACK_CHARS = 64 * 1024
_SDK_DIR = str(Path(danube.__file__).resolve().parent)


@dataclass(frozen=True)
class Outcome:
    """How the job ended, as the coordinator will report and exit."""

    exit_code: int
    message: str = ""
    traceback: str | None = None
    failed_step_number: int = 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m danube.coordinator`; returns the process exit code."""
    argparse.ArgumentParser(
        prog="python -m danube.coordinator",
        description="Run this job's danubefile.py pipeline against the Danube master.",
    ).parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # keep prints in order with stderr
    try:
        config = ClientConfig.from_environ(os.environ)
    except ConfigurationError as exc:
        _say(str(exc))
        return EXIT_INFRASTRUCTURE
    os.environ.pop(TOKEN_VAR, None)  # user code and its subprocesses have no use for it
    client = JobClient(config)
    _runtime.install(client)
    try:
        workspace = Path(os.environ.get("DANUBE_WORKSPACE") or os.getcwd())
        script = os.environ.get("DANUBE_SCRIPT") or DEFAULT_SCRIPT
        outcome = run_pipeline(workspace, script, wanted_pipeline(os.environ))
        return report(client, outcome)
    finally:
        _runtime.reset()


def wanted_pipeline(environ: Mapping[str, str]) -> str:
    """The `@pipeline` to run: the entrypoint the pipeline's config names
    (`DANUBE_ENTRYPOINT`), else the one named like the Danube pipeline (`DANUBE_PIPELINE`;
    `select_pipeline` falls back to the only one)."""
    return environ.get("DANUBE_ENTRYPOINT") or environ.get("DANUBE_PIPELINE", "")


def run_pipeline(workspace: Path, script: str, wanted: str) -> Outcome:
    """Load the danubefile from `workspace`, run the chosen pipeline, and judge the end."""
    if not workspace.is_dir():
        _say(f"the workspace {workspace} is not a directory")
        return Outcome(EXIT_INFRASTRUCTURE, f"the workspace {workspace} is not a directory")
    os.chdir(workspace)
    try:
        module = load_script(workspace / script, workspace)
        chosen = select_pipeline(pipelines_in(module), wanted, script)
    except PipelineDefinitionError as exc:
        text = _format(exc.__cause__) if exc.__cause__ is not None else None
        if text:
            sys.stderr.write(text)
        _say(str(exc))
        return Outcome(EXIT_FAILURE, _one_line(str(exc)), _clip(text))
    _say(f"running pipeline {chosen.name!r} from {script}")
    try:
        chosen()
    except BaseException as exc:
        outcome = _failure(exc)
    else:
        outcome = Outcome(EXIT_SUCCESS)
    if outcome.exit_code == EXIT_SUCCESS:
        _say(f"pipeline {chosen.name!r} succeeded")
    else:
        _say(f"pipeline {chosen.name!r} failed: {outcome.message}")
    return outcome


def report(client: JobClient, outcome: Outcome) -> int:
    """Send ReportStatus and return the exit code for `outcome`."""
    try:
        client.report_status(
            outcome.exit_code == EXIT_SUCCESS,
            outcome.message,
            outcome.traceback,
            outcome.failed_step_number,
            # The master was just found unreachable or hostile: one quick try, no budget.
            retry=outcome.exit_code != EXIT_INFRASTRUCTURE,
        )
    except JobNotRunningError as exc:
        _say(f"the master no longer accepts reports for this job: {exc}")
        return outcome.exit_code or EXIT_FAILURE
    except (MasterUnavailableError, MasterError) as exc:
        _say(f"could not report the job's status: {exc}")
        return EXIT_INFRASTRUCTURE
    return outcome.exit_code


def _failure(exc: BaseException) -> Outcome:
    if isinstance(exc, SystemExit) and exc.code in (None, 0):
        return Outcome(EXIT_SUCCESS)
    text = _format(exc)
    sys.stderr.write(text)
    step_number = 0
    if isinstance(exc, StepFailedError):
        message, step_number = str(exc), exc.number
    elif isinstance(exc, SystemExit):
        message = f"the pipeline called sys.exit({exc.code!r})"
    elif isinstance(exc, KeyboardInterrupt):
        message = "the pipeline was interrupted"
    else:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    exit_code = EXIT_INFRASTRUCTURE if _is_infrastructure(exc) else EXIT_FAILURE
    return Outcome(exit_code, _one_line(message), _clip(text), step_number)


def _is_infrastructure(exc: BaseException | None) -> bool:
    """True when the master, not the pipeline, is to blame (anywhere in the chain)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (MasterUnavailableError, AuthenticationError, ConfigurationError)):
            return True
        if type(exc) is MasterError:  # INTERNAL, UNIMPLEMENTED, ...: not the user's doing
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _format(exc: BaseException) -> str:
    """The traceback from the first frame outside the SDK (the user's code); for the SDK's
    own errors also without the SDK's frames after the user's last one."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and _in_sdk(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    if not isinstance(exc, DanubeError):
        return "".join(traceback.format_exception(type(exc), exc, tb))
    frames = traceback.extract_tb(tb)
    while frames and _in_sdk(frames[-1].filename):
        frames.pop()
    head = ["Traceback (most recent call last):\n", *frames.format()] if frames else []
    return "".join(head + traceback.format_exception_only(type(exc), exc))


def _in_sdk(filename: str) -> bool:
    if filename.startswith("<frozen "):  # importlib, while loading the danubefile
        return True
    return str(Path(filename).resolve()).startswith(_SDK_DIR)


def _one_line(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first[:MAX_MESSAGE_CHARS]


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TRACEBACK_CHARS:
        return text
    return "...(truncated)...\n" + text[-MAX_TRACEBACK_CHARS:]


def _say(message: str) -> None:
    # One write: an unbuffered stderr (PYTHONUNBUFFERED) gets print's text and newline as
    # two, and the step line the executor writes may come between them.
    sys.stderr.write(f"danube: {message}\n")
    sys.stderr.flush()
