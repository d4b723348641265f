"""Danube's one settings object: defaults, then ``danube.toml``, then ``DANUBE_*``
environment variables (DESIGN.md §10).

In the file, sections only group keys: ``[server] bind_address`` is ``bind_address`` is
``DANUBE_BIND_ADDRESS``. A key may also drop its section's prefix: ``[config_repo] url``
is ``config_repo_url``. Unknown keys and invalid values stop start-up with a message that
names the key and the reason.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
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

ENV_PREFIX = "DANUBE_"
# ``--config`` for this load only (the environment's DANUBE_CONFIG otherwise).
CONFIG_PATH: ContextVar[str | None] = ContextVar("danube_config_path", default=None)

SECTIONS: dict[str, tuple[str, ...]] = {
    "server": (
        "data_dir",
        "bind_address",
        "grpc_address",
        "public_url",
        "auto_migrate",
        "readiness_max_lag",
    ),
    "store": ("event_store", "database_url", "database_schema", "database_pool_size"),
    "executor": ("executor", "max_concurrent_jobs"),
    "kubernetes": (
        "kubeconfig",
        "k8s_context",
        "k8s_namespace_jobs",
        "k8s_namespace_system",
        "k8s_master_address",
        "k8s_coordinator_image",
        "k8s_coordinator_command",
        "k8s_checkout_image",
        "k8s_run_as_user",
        "k8s_unschedulable_timeout",
        "k8s_node_lost_timeout",
        "k8s_start_timeout",
        "pod_adapter_metrics_address",
    ),
    "config_repo": (
        "config_repo_url",
        "config_repo_branch",
        "config_repo_sync_interval",
        "config_repo_ssh_key_path",
        "config_repo_ssh_known_hosts_path",
    ),
    "webhooks": ("github_webhook_secret", "gitlab_webhook_token", "webhook_max_body_bytes"),
    "oidc": ("oidc_issuer", "oidc_client_id", "oidc_client_secret", "oidc_audience"),
    "logging": ("log_level", "log_format"),
}
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")


class SettingsError(Exception):
    """Start-up refused: every line names a setting and what is wrong with it."""


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Path(".danube")
    bind_address: str = "127.0.0.1:8080"
    grpc_address: str = "127.0.0.1:9000"
    public_url: str = "http://127.0.0.1:8080"
    auto_migrate: bool = True
    # /health/ready fails a read model whose oldest unfolded event is older than this
    readiness_max_lag: int = 30

    event_store: Literal["sqlite", "postgres"] = "sqlite"
    database_url: SecretStr = SecretStr("")
    database_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    database_pool_size: int = Field(default=4, ge=1, le=64)

    executor: Literal["local", "kubernetes"] = "local"
    max_concurrent_jobs: int = Field(default=4, ge=1, le=10_000)

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
    pod_adapter_metrics_address: str = "0.0.0.0:9102"  # "" = no /metrics listener

    config_repo_url: str = ""
    config_repo_branch: str = "main"
    config_repo_sync_interval: int = 60
    config_repo_ssh_key_path: str = ""
    # ssh host keys to trust (known_hosts format); "" = trust a host on first use
    config_repo_ssh_known_hosts_path: str = ""

    github_webhook_secret: SecretStr = SecretStr("")
    gitlab_webhook_token: SecretStr = SecretStr("")
    webhook_max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_audience: str = ""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"

    @field_validator(
        "bind_address", "grpc_address", "k8s_master_address", "pod_adapter_metrics_address"
    )
    @classmethod
    def _host_port(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.field_name in ("k8s_master_address", "pod_adapter_metrics_address"):
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
        "readiness_max_lag",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: Any) -> int:
        match = _DURATION.match(str(value))
        if not match or int(match.group(1)) <= 0:
            raise ValueError(f"expected a positive duration like 60s, 5m or 1h, got {value!r}")
        return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]

    @field_validator("public_url", "oidc_issuer")
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
                f"{env_name('database_url')} must be a postgresql:// URL "
                "when DANUBE_EVENT_STORE=postgres"
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
    """``danube.toml`` flattened to field names; the path comes from ``--config`` (passed
    through ``DANUBE_CONFIG``)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.values = read_toml(CONFIG_PATH.get() or os.environ.get("DANUBE_CONFIG", ""))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def read_toml(path: str) -> dict[str, Any]:
    if not path:
        return {}
    try:
        document = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SettingsError(
            f"config file {path} (DANUBE_CONFIG / --config) does not exist"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from None
    fields = set(Settings.model_fields)
    values: dict[str, Any] = {}
    problems = []
    for section, content in document.items():
        items = content.items() if isinstance(content, dict) else [(None, content)]
        for key, value in items:
            name = section if key is None else _field_for(section, key, fields)
            where = section if key is None else f"[{section}] {key}"
            if name is None:
                problems.append(f"{path}: unknown setting {where}")
            else:
                values[name] = value
    if problems:
        raise SettingsError("\n".join(problems))
    return values


def _field_for(section: str, key: str, fields: set[str]) -> str | None:
    for candidate in (key, f"{section}_{key}", f"{SECTION_PREFIXES.get(section, '')}{key}"):
        if candidate in fields:
            return candidate
    return None


SECTION_PREFIXES = {"kubernetes": "k8s_", "store": "database_", "logging": "log_"}


def load_settings(config_path: str | None = None, **overrides: Any) -> Settings:
    """Build the settings or raise ``SettingsError`` naming every bad key."""
    token = CONFIG_PATH.set(config_path or None)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    finally:
        CONFIG_PATH.reset(token)


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        if field:
            lines.append(f"invalid setting {env_name(field)} ({field}): {message}")
        else:
            lines.append(f"invalid settings: {message}")
    return "\n".join(lines)
