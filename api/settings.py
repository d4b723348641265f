"""Danube's one settings object: defaults, then ``danube.toml``, then ``DANUBE_*``
environment variables (DESIGN.md §10; the file's shape is in ``api.settings_file``).

Invalid values stop start-up with a message that names where the value came from and
the reason: ``danube.toml: [server] bind_address: expected host:port ...`` for the file,
``invalid setting DANUBE_BIND_ADDRESS (bind_address): ...`` for the environment.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from api.settings_file import (
    ENV_PREFIX,
    SettingsFileError,
    TomlValues,
    env_name,
    read_toml,
    unknown_variables,
)

# The file of this load (``--config``, else DANUBE_CONFIG), read once by ``load_settings``.
CONFIG_FILE: ContextVar[TomlValues | None] = ContextVar("danube_config_file", default=None)
log = logging.getLogger(__name__)

OPTIONAL_ADDRESSES = (
    "k8s_master_address",
    "pod_adapter_metrics_address",
    "projector_metrics_address",
    "dispatcher_metrics_address",
)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")


class SettingsError(Exception):
    """Start-up refused: every line names a setting and what is wrong with it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Path(".danube")
    bind_address: str = "127.0.0.1:8080"
    grpc_address: str = "127.0.0.1:9000"
    public_url: str = "http://127.0.0.1:8080"
    graphiql: bool = False  # serve the GraphiQL IDE at GET /graphql (development)
    web_dir: Path | None = None  # the built web app served at /; unset: the one packaged
    auto_migrate: bool = True
    # /health/ready fails a read model whose oldest unfolded event is older than this
    readiness_max_lag: int = 30

    event_store: Literal["sqlite", "postgres"] = "sqlite"
    database_url: SecretStr = SecretStr("")
    database_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    database_pool_size: int = Field(default=4, ge=1, le=64)
    # seconds a role's lease outlives its holder's silence (projector, dispatcher, ...)
    database_lease_ttl: float = Field(default=10.0, ge=2.0, le=300.0)

    executor: Literal["local", "kubernetes"] = "local"
    max_concurrent_jobs: int = Field(default=4, ge=1, le=10_000)
    # local executor: idle coordinators kept started, the SDK imported, to hand jobs to
    warm_coordinators: int = Field(default=2, ge=0, le=64)

    kubeconfig: str = ""
    k8s_context: str = ""
    k8s_namespace_jobs: str = "danube-jobs"
    k8s_namespace_system: str = "danube-system"
    k8s_master_address: str = ""  # host:port job pods dial for JobService; "" = this gRPC
    k8s_coordinator_image: str = "ghcr.io/danube-ci/danube:latest"
    k8s_coordinator_command: str = "python3 -m danube.coordinator"
    k8s_checkout_image: str = ""  # "" = the coordinator image
    k8s_run_as_user: int = Field(default=1000, ge=1, le=2**31 - 1)
    k8s_unschedulable_timeout: int = 300
    k8s_node_lost_timeout: int = 60
    k8s_start_timeout: int = 900
    k8s_exec_idle_timeout: int = 60  # a step's exec connection silent this long is reattached
    k8s_image_pull_timeout: int = 120  # failing image pulls (registry errors) fail the job after
    # size limit of the emptyDir at /danube in job pods (step output files until the job ends)
    k8s_control_volume_size: str = Field(default="1Gi", pattern=r"^[1-9][0-9]*(Ki|Mi|Gi|Ti)$")
    pod_adapter_metrics_address: str = "0.0.0.0:9102"  # "" = no /metrics listener

    config_repo_url: str = ""
    config_repo_branch: str = "main"
    config_repo_sync_interval: int = 60
    config_repo_ssh_key_path: str = ""
    # ssh host keys to trust (known_hosts format); "" = trust a host on first use
    config_repo_ssh_known_hosts_path: str = ""

    # GitHub API for github_app git_authentication (GitHub Enterprise: https://HOST/api/v3)
    github_api_url: str = "https://api.github.com"
    github_webhook_secret: SecretStr = SecretStr("")
    gitlab_webhook_token: SecretStr = SecretStr("")
    webhook_max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_audience: str = ""
    # the browser session cookie's Secure flag; unset = on, unless PUBLIC_URL is
    # http://localhost or http://127.0.0.1 (browsers drop Secure cookies over plain http)
    session_cookie_secure: bool | None = None

    # observability: the metrics address of each process that runs on its own ("" = none;
    # the API server serves /metrics on bind_address), readiness checks' own time limit
    # (the registry readiness asks is registry_url, below)
    projector_metrics_address: str = ""
    dispatcher_metrics_address: str = ""
    readiness_check_timeout: float = Field(default=2.0, gt=0, le=60)

    # What one job may send (each refused with an error naming its setting)
    max_artifact_bytes: int = Field(default=1024**3, ge=1)  # one artifact
    max_job_artifact_bytes: int = Field(default=5 * 1024**3, ge=1)  # all of a job's
    min_free_disk_bytes: int = Field(default=1024**3, ge=0)  # uploads stop below it
    max_step_command_bytes: int = Field(default=256 * 1024, ge=1024)  # also a step's name
    max_report_message_bytes: int = Field(default=64 * 1024, ge=1024)
    max_streams_per_job: int = Field(default=16, ge=1, le=1000)  # concurrent JobService calls

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"

    # retention: when the reaper runs (cron, UTC; "" = only `danube reap`), and the
    # internal registry whose old images it deletes and whose /v2/ readiness asks ("" = none)
    reaper_schedule: str = "0 3 * * *"
    registry_url: str = ""

    @field_validator(
        "bind_address",
        "grpc_address",
        "k8s_master_address",
        "pod_adapter_metrics_address",
        "projector_metrics_address",
        "dispatcher_metrics_address",
    )
    @classmethod
    def _host_port(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.field_name in OPTIONAL_ADDRESSES:
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"expected host:port (e.g. 127.0.0.1:8080), got {value!r}")
        return value

    @field_validator(
        "config_repo_sync_interval",
        "k8s_unschedulable_timeout",
        "k8s_node_lost_timeout",
        "k8s_start_timeout",
        "k8s_exec_idle_timeout",
        "k8s_image_pull_timeout",
        "readiness_max_lag",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: Any) -> int:
        match = _DURATION.match(str(value))
        if not match or int(match.group(1)) <= 0:
            raise ValueError(f"expected a positive duration like 60s, 5m or 1h, got {value!r}")
        return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]

    @field_validator("reaper_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from croniter import croniter

        if value and not croniter.is_valid(value):
            raise ValueError(f"expected a cron expression like '0 3 * * *', got {value!r}")
        return value

    @field_validator("public_url", "oidc_issuer", "registry_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("k8s_coordinator_command")
    @classmethod
    def _command(cls, value: str) -> str:
        try:
            words = shlex.split(value)
        except ValueError as error:
            raise ValueError(f"not a valid command line ({error}): {value!r}") from None
        if not words:
            raise ValueError("the coordinator needs a command (e.g. python3 -m danube.coordinator)")
        return value

    @field_validator("log_level", "log_format", "event_store", "executor", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        url = self.database_url.get_secret_value()
        if self.event_store == "postgres" and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                f"{env_name('database_url')} ([store] database_url) must be a postgresql:// "
                "URL when the event store is postgres"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlSource(settings_cls))

    @property
    def http_host(self) -> str:
        return self.bind_address.rpartition(":")[0]

    @property
    def http_port(self) -> int:
        return int(self.bind_address.rpartition(":")[2])


class TomlSource(PydanticBaseSettingsSource):
    """``danube.toml`` flattened to field names (see ``api.settings_file``)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        toml = CONFIG_FILE.get()
        if toml is None:  # Settings() built directly: the environment names the file
            toml = _read(os.environ.get("DANUBE_CONFIG", ""))
        self.values = toml.values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _read(path: str) -> TomlValues:
    try:
        return read_toml(path)
    except SettingsFileError as error:
        raise SettingsError(str(error)) from None


def load_settings(config_path: str | None = None, **overrides: Any) -> Settings:
    """Build the settings or raise ``SettingsError`` naming every bad key and where it
    was set. ``config_path`` (``--config``) wins over DANUBE_CONFIG for this load."""
    toml = _read(config_path or os.environ.get("DANUBE_CONFIG", ""))
    token = CONFIG_FILE.set(toml)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error, toml)) from None
    finally:
        CONFIG_FILE.reset(token)


def warn_about_unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """Log (and return) a warning for each ``DANUBE_*`` variable that is no setting."""
    warnings = unknown_variables(os.environ if environ is None else environ, Settings.model_fields)
    for warning in warnings:
        log.warning(warning)
    return warnings


def _describe(error: ValidationError, toml: TomlValues) -> str:
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        if field and env_name(field) not in os.environ and field in toml.where:
            lines.append(f"{toml.path}: {toml.where[field]}: {message}")
        elif field:
            lines.append(f"invalid setting {env_name(field)} ({field}): {message}")
        else:
            lines.append(f"invalid settings: {message}")
    return "\n".join(lines)
