"""A deterministic, JSON-friendly encoding of a validated config (and of its errors).

The encoding is carried inside stored events, so it uses only dicts with fixed keys,
lists, str, int, bool and None: no enums, no tuples (the event transcoder would turn
tuples into lists anyway). Pairs (permissions) are encoded as
``[key, value]`` lists so their order survives any JSON serialiser that sorts keys.
``config_from_dict(config_to_dict(c)) == c`` for every config. Missing keys decode to
the model's defaults, so configs stored before a field was added still decode.
"""

from __future__ import annotations

from typing import Any

from domain.config.model import (
    Config,
    ConfigError,
    GitAuthentication,
    GitAuthenticationType,
    KubernetesConfig,
    Observability,
    Permission,
    Pipeline,
    Resources,
    Retention,
    ServerOverrides,
    Settings,
    Team,
    Trigger,
    TriggerKind,
    User,
    Worker,
)

FORMAT_VERSION = 1

Encoded = dict[str, Any]


def config_to_dict(config: Config) -> Encoded:
    return {
        "format": FORMAT_VERSION,
        "commit": config.commit,
        "settings": _settings_to_dict(config.settings),
        "pipelines": [_pipeline_to_dict(p) for p in config.pipelines],
        "users": [_user_to_dict(u) for u in config.users],
        "teams": [_team_to_dict(t) for t in config.teams],
    }


def config_from_dict(data: Encoded) -> Config:
    version = data.get("format", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ValueError(f"unsupported config encoding format {version!r}")
    return Config(
        commit=data["commit"],
        settings=_settings_from_dict(data.get("settings", {})),
        pipelines=tuple(pipeline_from_dict(p) for p in data.get("pipelines", [])),
        users=tuple(_user_from_dict(u) for u in data.get("users", [])),
        teams=tuple(_team_from_dict(t) for t in data.get("teams", [])),
    )


def config_error_to_dict(error: ConfigError) -> Encoded:
    return {"file": error.file, "line": error.line, "field": error.field, "message": error.message}


def config_error_from_dict(data: Encoded) -> ConfigError:
    return ConfigError(
        file=data["file"], line=data.get("line"), field=data["field"], message=data["message"]
    )


def _settings_to_dict(settings: Settings) -> Encoded:
    k8s, retention = settings.kubernetes, settings.retention
    return {
        "kubernetes": {
            "namespace_jobs": k8s.namespace_jobs,
            "coordinator_image": k8s.coordinator_image,
        },
        "retention": {
            "logs_days": retention.logs_days,
            "artifacts_days": retention.artifacts_days,
            "registry_images_days": retention.registry_images_days,
        },
        "observability": {
            "otel_endpoint": settings.observability.otel_endpoint,
            "metrics_enabled": settings.observability.metrics_enabled,
            "traces_enabled": settings.observability.traces_enabled,
        },
        "egress_allowlist": list(settings.egress_allowlist),
        "git_authentication": [_git_authentication_to_dict(a) for a in settings.git_authentication],
        "server": {
            "bind_address": settings.server.bind_address,
            "data_dir": settings.server.data_dir,
        },
    }


def _settings_from_dict(data: Encoded) -> Settings:
    observability = data.get("observability", {})
    return Settings(
        kubernetes=KubernetesConfig(**data.get("kubernetes", {})),
        retention=Retention(**data.get("retention", {})),
        # Stored before the documented format: a list of free-form [key, value] pairs.
        observability=Observability(**observability)
        if isinstance(observability, dict)
        else Observability(),
        egress_allowlist=tuple(data.get("egress_allowlist", [])),
        git_authentication=tuple(
            _git_authentication_from_dict(item)
            for item in data.get("git_authentication", [])
            if isinstance(item, dict)  # old [host, secret] pairs configured nothing usable
        ),
        server=ServerOverrides(**data.get("server", {})),
    )


def _git_authentication_to_dict(auth: GitAuthentication) -> Encoded:
    return {
        "type": auth.type.value,
        "name": auth.name,
        "match_patterns": list(auth.match_patterns),
        "app_id": auth.app_id,
        "installation_id": auth.installation_id,
        "private_key_secret": auth.private_key_secret,
        "url": auth.url,
        "token_secret": auth.token_secret,
        "private_key_path": auth.private_key_path,
        "known_hosts_path": auth.known_hosts_path,
    }


def _git_authentication_from_dict(data: Encoded) -> GitAuthentication:
    values = {k: v for k, v in data.items() if k not in {"type", "match_patterns"}}
    return GitAuthentication(
        **values,
        type=GitAuthenticationType(data["type"]),
        match_patterns=tuple(data.get("match_patterns", [])),
    )


def _trigger_to_dict(trigger: Trigger) -> Encoded:
    return {
        "kind": trigger.kind.value,
        "branches": list(trigger.branches),
        "tags": list(trigger.tags),
        "schedule": trigger.schedule,
        "timezone": trigger.timezone,
        "branch": trigger.branch,
    }


def _trigger_from_dict(data: Encoded) -> Trigger:
    return Trigger(
        kind=TriggerKind(data["kind"]),
        branches=tuple(data.get("branches", [])),
        tags=tuple(data.get("tags", [])),
        schedule=data.get("schedule"),
        timezone=data.get("timezone", "UTC"),
        branch=data.get("branch"),
    )


def _pipeline_to_dict(pipeline: Pipeline) -> Encoded:
    resources = pipeline.worker.resources
    return {
        "name": pipeline.name,
        "repository": pipeline.repository,
        "branch_filter": list(pipeline.branch_filter),
        "triggers": [_trigger_to_dict(t) for t in pipeline.triggers],
        "script": pipeline.script,
        "max_duration_seconds": pipeline.max_duration_seconds,
        "workspace_size_gb": pipeline.workspace_size_gb,
        "worker": {
            "image": pipeline.worker.image,
            "resources": {
                "cpu_request": resources.cpu_request,
                "memory_request": resources.memory_request,
                "cpu_limit": resources.cpu_limit,
                "memory_limit": resources.memory_limit,
            },
        },
        "permissions": [[team, level.value] for team, level in pipeline.permissions],
        "webhook_secret_name": pipeline.webhook_secret_name,
        "concurrency": pipeline.concurrency,
        "entrypoint": pipeline.entrypoint,
        "team": pipeline.team,
    }


def pipeline_from_dict(data: Encoded) -> Pipeline:
    defaults = Pipeline(name="", repository="")
    worker = data.get("worker", {})
    return Pipeline(
        name=data["name"],
        repository=data["repository"],
        branch_filter=tuple(data.get("branch_filter", [])),
        triggers=tuple(_trigger_from_dict(t) for t in data.get("triggers", [])),
        script=data.get("script", defaults.script),
        max_duration_seconds=data.get("max_duration_seconds", defaults.max_duration_seconds),
        workspace_size_gb=data.get("workspace_size_gb", defaults.workspace_size_gb),
        worker=Worker(
            image=worker.get("image", defaults.worker.image),
            resources=Resources(**worker.get("resources", {})),
        ),
        permissions=tuple((team, Permission(level)) for team, level in data.get("permissions", [])),
        webhook_secret_name=data.get("webhook_secret_name"),
        concurrency=data.get("concurrency"),
        entrypoint=data.get("entrypoint"),
        team=data.get("team", ""),
    )


def _user_to_dict(user: User) -> Encoded:
    return {
        "name": user.name,
        "email": user.email,
        "password_hash": user.password_hash,
        "display_name": user.display_name,
    }


def _user_from_dict(data: Encoded) -> User:
    return User(
        name=data["name"],
        email=data["email"],
        password_hash=data.get("password_hash", ""),
        display_name=data.get("display_name", ""),
    )


def _team_to_dict(team: Team) -> Encoded:
    return {"name": team.name, "members": list(team.members), "global_admin": team.global_admin}


def _team_from_dict(data: Encoded) -> Team:
    return Team(
        name=data["name"],
        members=tuple(data.get("members", [])),
        global_admin=data.get("global_admin", False),
    )
