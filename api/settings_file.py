"""Where settings come from besides their defaults: ``danube.toml`` (sections of keys that
mirror the ``DANUBE_*`` variables) and the environment, and how either is checked.

``[server] bind_address`` is ``bind_address`` is ``DANUBE_BIND_ADDRESS``. In its section a
key may drop the section's prefix: ``[config_repo] url`` is ``config_repo_url``,
``[kubernetes] namespace_jobs`` is ``k8s_namespace_jobs``. A key outside any section is a
whole setting name. An unknown section, a key its section does not have, or a value of
the wrong shape stops start-up naming the file and the key; an unknown ``DANUBE_*``
variable is only warned about (the test and benchmark families are not settings).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "DANUBE_"
NOT_SETTINGS = ("DANUBE_CONFIG", "DANUBE_TOKEN")  # the file's path; the CLI's API token
OTHER_FAMILIES = ("DANUBE_TEST_", "DANUBE_BENCH_")  # read by tests and benchmarks

SECTIONS: dict[str, tuple[str, ...]] = {
    "server": (
        "data_dir",
        "bind_address",
        "grpc_address",
        "public_url",
        "graphiql",
        "web_dir",
        "auto_migrate",
        "readiness_max_lag",
    ),
    "store": (
        "event_store",
        "database_url",
        "database_schema",
        "database_pool_size",
        "database_lease_ttl",
    ),
    "executor": ("executor", "max_concurrent_jobs", "warm_coordinators"),
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
        "k8s_exec_idle_timeout",
        "k8s_image_pull_timeout",
        "k8s_control_volume_size",
        "pod_adapter_metrics_address",
    ),
    "config_repo": (
        "config_repo_url",
        "config_repo_branch",
        "config_repo_sync_interval",
        "config_repo_ssh_key_path",
        "config_repo_ssh_known_hosts_path",
    ),
    "git": ("github_api_url",),
    "webhooks": ("github_webhook_secret", "gitlab_webhook_token", "webhook_max_body_bytes"),
    "oidc": (
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret",
        "oidc_audience",
        "session_cookie_secure",
    ),
    "logging": ("log_level", "log_format"),
    "retention": ("reaper_schedule", "registry_url"),
    "observability": (
        "projector_metrics_address",
        "dispatcher_metrics_address",
        "readiness_check_timeout",
    ),
    "limits": (
        "max_artifact_bytes",
        "max_job_artifact_bytes",
        "min_free_disk_bytes",
        "max_step_command_bytes",
        "max_report_message_bytes",
        "max_streams_per_job",
    ),
}
SECTION_PREFIXES = {"kubernetes": "k8s_", "store": "database_", "logging": "log_"}


class SettingsFileError(Exception):
    """The file cannot be used: every line names the file and what is wrong."""


def env_name(setting: str) -> str:
    return ENV_PREFIX + setting.upper()


@dataclass(frozen=True)
class TomlValues:
    """A settings file flattened to setting names, remembering where each was written."""

    path: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # setting -> "[section] key"


def read_toml(path: str) -> TomlValues:
    if not path:
        return TomlValues()
    try:
        document = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SettingsFileError(
            f"config file {path} (DANUBE_CONFIG / --config) does not exist"
        ) from None
    except OSError as error:
        raise SettingsFileError(f"config file {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsFileError(f"config file {path} is not valid TOML: {error}") from None
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    problems: list[str] = []
    for section, content in document.items():
        if not isinstance(content, dict):  # a whole setting name outside any section
            if _section_of(section) is None:
                problems.append(f"{path}: unknown setting {section}{_hint(section)}")
            else:
                values[section], where[section] = content, section
            continue
        if section not in SECTIONS:
            known = ", ".join(f"[{name}]" for name in SECTIONS)
            problems.append(f"{path}: unknown section [{section}] (sections: {known})")
            continue
        for key, value in content.items():
            name = _setting_for(section, key)
            if name is None:
                problems.append(f"{path}: unknown setting [{section}] {key}{_hint(key, section)}")
            else:
                values[name], where[name] = value, f"[{section}] {key}"
    if problems:
        raise SettingsFileError("\n".join(problems))
    return TomlValues(path, values, where)


def _candidates(section: str, key: str) -> tuple[str, ...]:
    return (key, f"{section}_{key}", f"{SECTION_PREFIXES.get(section, '')}{key}")


def _setting_for(section: str, key: str) -> str | None:
    return next((c for c in _candidates(section, key) if c in SECTIONS[section]), None)


def _section_of(setting: str) -> str | None:
    return next((name for name, settings in SECTIONS.items() if setting in settings), None)


def _hint(key: str, section: str | None = None) -> str:
    """Where a key that exists elsewhere belongs, or the nearest key of its section."""
    for other in SECTIONS:
        if other != section and _setting_for(other, key) is not None:
            return f" (it belongs in [{other}]: [{other}] {key})"
    names = list(SECTIONS[section]) if section else [s for v in SECTIONS.values() for s in v]
    if section:
        prefixes = (f"{section}_", SECTION_PREFIXES.get(section, "\0"))
        names += [n.removeprefix(p) for n in names for p in prefixes if n.startswith(p)]
    close = difflib.get_close_matches(key, names, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_variables(environ: Mapping[str, str], settings: Collection[str]) -> list[str]:
    """A warning for every ``DANUBE_*`` variable that is no setting, with the nearest."""
    known = {env_name(setting) for setting in settings} | set(NOT_SETTINGS)
    warnings = []
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX) or variable in known:
            continue
        if variable.startswith(OTHER_FAMILIES):
            continue
        close = difflib.get_close_matches(variable, sorted(known), n=1, cutoff=0.7)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"unknown environment variable {variable} is ignored{hint}")
    return warnings
