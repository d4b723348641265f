"""How the SDK finds the master: read once from the coordinator's environment."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from danube.errors import ConfigurationError

DEFAULT_RETRY_BUDGET_SECONDS = 30.0

ADDRESS_VAR = "DANUBE_MASTER_ADDRESS"
CA_FILE_VAR = "DANUBE_MASTER_CA_FILE"
JOB_ID_VAR = "DANUBE_JOB_ID"
TOKEN_VAR = "DANUBE_JOB_TOKEN"
TOKEN_FILE_VAR = "DANUBE_JOB_TOKEN_FILE"
RETRY_BUDGET_VAR = "DANUBE_RETRY_BUDGET_SECONDS"


@dataclass(frozen=True)
class ClientConfig:
    """Where the master is and how this job proves who it is.

    Attributes:
        address: `host:port` of the master's gRPC JobService.
        job_id: this job's id, sent as `x-danube-job-id`.
        token: the job token, sent as `authorization: Bearer ...`; never shown in repr.
        root_certificates: PEM CA bundle for TLS, or None for a plaintext channel.
        retry_budget_seconds: how long one call keeps retrying transient failures.
    """

    address: str
    job_id: str
    token: str = field(repr=False)
    root_certificates: bytes | None = field(default=None, repr=False)
    retry_budget_seconds: float = DEFAULT_RETRY_BUDGET_SECONDS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ClientConfig:
        """Read the configuration from `DANUBE_*` variables.

        The token comes from the file named by `DANUBE_JOB_TOKEN_FILE` (a mounted
        Kubernetes Secret) if set, else from `DANUBE_JOB_TOKEN`.

        Raises:
            ConfigurationError: a required variable is missing or a value is invalid.
        """
        return cls(
            address=_required(environ, ADDRESS_VAR),
            job_id=_required(environ, JOB_ID_VAR),
            token=_token(environ),
            root_certificates=_root_certificates(environ),
            retry_budget_seconds=_retry_budget(environ),
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set; the coordinator needs it to reach the master")
    return value


def _token(environ: Mapping[str, str]) -> str:
    token_file = environ.get(TOKEN_FILE_VAR, "").strip()
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"cannot read the job token file named by {TOKEN_FILE_VAR} ({token_file}): "
                f"{type(exc).__name__}"
            ) from None
        source = f"the file named by {TOKEN_FILE_VAR}"
    else:
        token = environ.get(TOKEN_VAR, "").strip()
        source = TOKEN_VAR
    if not token:
        raise ConfigurationError(f"no job token: set {TOKEN_FILE_VAR} or {TOKEN_VAR}")
    # gRPC metadata values must be printable ASCII; say so without echoing the value.
    if not all(" " < char < "\x7f" for char in token):
        raise ConfigurationError(f"the job token from {source} contains invalid characters")
    return token


def _root_certificates(environ: Mapping[str, str]) -> bytes | None:
    ca_file = environ.get(CA_FILE_VAR, "").strip()
    if not ca_file:
        return None
    try:
        return Path(ca_file).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {CA_FILE_VAR} ({ca_file}): {exc.strerror}") from exc


def _retry_budget(environ: Mapping[str, str]) -> float:
    raw = environ.get(RETRY_BUDGET_VAR, "").strip()
    if not raw:
        return DEFAULT_RETRY_BUDGET_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigurationError(
            f"{RETRY_BUDGET_VAR} must be a number of seconds >= 0, not {raw!r}"
        )
    return seconds
