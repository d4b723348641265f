"""One RunStep call, reattached after transport failures without losing or repeating output.

The step is identified by its number. After a break the same request is sent again with
`resume_offset` = the bytes of output already received; the master does not start the
command again but streams the stored output from that offset, then the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import grpc

from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1.job_service_pb2_grpc import JobServiceStub
from danube._retry import RetryBudget
from danube._status import describe, is_transient
from danube.results import OutputCallback, OutputChunk, StepOutcome, StepResult

_OUTCOMES = {
    pb.STEP_OUTCOME_SUCCESS: StepOutcome.SUCCESS,
    pb.STEP_OUTCOME_FAILURE: StepOutcome.FAILURE,
    pb.STEP_OUTCOME_TIMEOUT: StepOutcome.TIMEOUT,
    pb.STEP_OUTCOME_CANCELLED: StepOutcome.CANCELLED,
}


@dataclass(frozen=True)
class StepRequest:
    """What to run; `timeout_seconds` 0 means no step timeout."""

    number: int
    name: str
    command: str
    image: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = 0
    capture: bool = False


class StepStream:
    """Drives one step's RunStep call to its final message."""

    def __init__(
        self,
        stub: JobServiceStub,
        metadata: Sequence[tuple[str, str]],
        budget: RetryBudget,
        request: StepRequest,
        on_output: OutputCallback | None,
    ) -> None:
        self._stub = stub
        self._metadata = tuple(metadata)
        self._budget = budget
        self._request = request
        self._on_output = on_output
        self.received = 0
        self.attempts = 0

    def run(self) -> StepResult:
        """Stream until the result arrives; raises `grpc.RpcError` for non-transient codes
        and `MasterUnavailableError` when the retry budget runs out."""
        while True:
            self.attempts += 1
            try:
                result = self._attempt()
            except grpc.RpcError as exc:
                if not is_transient(exc):
                    raise
                cause = describe(exc)
            else:
                if result is not None:
                    return result
                cause = "the stream ended without a result"
            self._budget.failed("RunStep", cause)  # outside `except`: no chained gRPC noise

    def _attempt(self) -> StepResult | None:
        call = self._stub.RunStep(self._message(), metadata=self._metadata)
        try:
            for response in call:
                self._budget.progress()
                if response.HasField("output"):
                    self._deliver(response.output)
                elif response.HasField("result"):
                    return self._result(response.result)
            return None
        finally:
            call.cancel()  # a no-op once the call has completed

    def _message(self) -> pb.RunStepRequest:
        request = self._request
        return pb.RunStepRequest(
            number=request.number,
            name=request.name,
            command=request.command,
            image=request.image,
            env=dict(request.env),
            timeout_seconds=request.timeout_seconds,
            capture=request.capture,
            resume_offset=self.received,
        )

    def _deliver(self, output: pb.StepOutput) -> None:
        end = output.offset + len(output.data)
        if end <= self.received:
            return  # already delivered before the reattach
        data = output.data[max(0, self.received - output.offset) :]
        chunk_offset = max(output.offset, self.received)
        self.received = end
        if self._on_output is not None and data:
            stream: Literal["stdout", "stderr"] = (
                "stderr" if output.stream == pb.OUTPUT_STREAM_STDERR else "stdout"
            )
            self._on_output(OutputChunk(data=data, stream=stream, offset=chunk_offset))

    def _result(self, result: pb.StepResult) -> StepResult:
        outcome = _OUTCOMES.get(result.outcome)
        if outcome is None:  # an unspecified outcome: judge by the exit code
            outcome = StepOutcome.SUCCESS if result.exit_code == 0 else StepOutcome.FAILURE
        exit_code = result.exit_code
        if outcome is not StepOutcome.SUCCESS and exit_code == 0:
            exit_code = -1  # never report 0 for a step that did not succeed
        stdout = result.captured_stdout if result.HasField("captured_stdout") else None
        if self._request.capture and stdout is None:
            stdout = b""
        return StepResult(
            number=self._request.number,
            name=self._request.name,
            exit_code=exit_code,
            outcome=outcome,
            reason=result.reason,
            stdout=stdout,
            output_size=result.output_size,
        )
