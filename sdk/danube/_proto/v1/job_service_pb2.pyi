# mypy: ignore-errors
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OutputStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_STREAM_UNSPECIFIED: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDOUT: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDERR: _ClassVar[OutputStream]

class StepOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_OUTCOME_UNSPECIFIED: _ClassVar[StepOutcome]
    STEP_OUTCOME_SUCCESS: _ClassVar[StepOutcome]
    STEP_OUTCOME_FAILURE: _ClassVar[StepOutcome]
    STEP_OUTCOME_TIMEOUT: _ClassVar[StepOutcome]
    STEP_OUTCOME_CANCELLED: _ClassVar[StepOutcome]

class ArtifactKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIFACT_KIND_UNSPECIFIED: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_FILE: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_DIRECTORY: _ClassVar[ArtifactKind]

class JobOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_OUTCOME_UNSPECIFIED: _ClassVar[JobOutcome]
    JOB_OUTCOME_SUCCESS: _ClassVar[JobOutcome]
    JOB_OUTCOME_FAILURE: _ClassVar[JobOutcome]

class CoordinatorExit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COORDINATOR_EXIT_SUCCESS: _ClassVar[CoordinatorExit]
    COORDINATOR_EXIT_FAILURE: _ClassVar[CoordinatorExit]
    COORDINATOR_EXIT_INFRASTRUCTURE: _ClassVar[CoordinatorExit]
OUTPUT_STREAM_UNSPECIFIED: OutputStream
OUTPUT_STREAM_STDOUT: OutputStream
OUTPUT_STREAM_STDERR: OutputStream
STEP_OUTCOME_UNSPECIFIED: StepOutcome
STEP_OUTCOME_SUCCESS: StepOutcome
STEP_OUTCOME_FAILURE: StepOutcome
STEP_OUTCOME_TIMEOUT: StepOutcome
STEP_OUTCOME_CANCELLED: StepOutcome
ARTIFACT_KIND_UNSPECIFIED: ArtifactKind
ARTIFACT_KIND_FILE: ArtifactKind
ARTIFACT_KIND_DIRECTORY: ArtifactKind
JOB_OUTCOME_UNSPECIFIED: JobOutcome
JOB_OUTCOME_SUCCESS: JobOutcome
JOB_OUTCOME_FAILURE: JobOutcome
COORDINATOR_EXIT_SUCCESS: CoordinatorExit
COORDINATOR_EXIT_FAILURE: CoordinatorExit
COORDINATOR_EXIT_INFRASTRUCTURE: CoordinatorExit

class RunStepRequest(_message.Message):
    __slots__ = ("number", "name", "command", "image", "env", "timeout_seconds", "capture", "resume_offset")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    RESUME_OFFSET_FIELD_NUMBER: _ClassVar[int]
    number: int
    name: str
    command: str
    image: str
    env: _containers.ScalarMap[str, str]
    timeout_seconds: int
    capture: bool
    resume_offset: int
    def __init__(self, number: _Optional[int] = ..., name: _Optional[str] = ..., command: _Optional[str] = ..., image: _Optional[str] = ..., env: _Optional[_Mapping[str, str]] = ..., timeout_seconds: _Optional[int] = ..., capture: _Optional[bool] = ..., resume_offset: _Optional[int] = ...) -> None: ...

class StepOutput(_message.Message):
    __slots__ = ("data", "offset", "stream")
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    stream: OutputStream
    def __init__(self, data: _Optional[bytes] = ..., offset: _Optional[int] = ..., stream: _Optional[_Union[OutputStream, str]] = ...) -> None: ...

class StepResult(_message.Message):
    __slots__ = ("exit_code", "outcome", "captured_stdout", "reason", "output_size")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_STDOUT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    outcome: StepOutcome
    captured_stdout: bytes
    reason: str
    output_size: int
    def __init__(self, exit_code: _Optional[int] = ..., outcome: _Optional[_Union[StepOutcome, str]] = ..., captured_stdout: _Optional[bytes] = ..., reason: _Optional[str] = ..., output_size: _Optional[int] = ...) -> None: ...

class RunStepResponse(_message.Message):
    __slots__ = ("output", "result")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    output: StepOutput
    result: StepResult
    def __init__(self, output: _Optional[_Union[StepOutput, _Mapping]] = ..., result: _Optional[_Union[StepResult, _Mapping]] = ...) -> None: ...

class GetSecretRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class GetSecretResponse(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class ArtifactHeader(_message.Message):
    __slots__ = ("name", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: ArtifactKind
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[ArtifactKind, str]] = ...) -> None: ...

class UploadArtifactRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ArtifactHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ArtifactHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadArtifactResponse(_message.Message):
    __slots__ = ("name", "size", "sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    sha256: str
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class ReportStatusRequest(_message.Message):
    __slots__ = ("outcome", "message", "traceback", "failed_step_number")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    FAILED_STEP_NUMBER_FIELD_NUMBER: _ClassVar[int]
    outcome: JobOutcome
    message: str
    traceback: str
    failed_step_number: int
    def __init__(self, outcome: _Optional[_Union[JobOutcome, str]] = ..., message: _Optional[str] = ..., traceback: _Optional[str] = ..., failed_step_number: _Optional[int] = ...) -> None: ...

class ReportStatusResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
