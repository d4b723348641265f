"""The spec of each document kind: which fields exist, their types, checks and defaults.

Each ``parse_*`` reads a document's ``spec`` through ``Fields`` (which records every
problem) and returns the model object, or ``None`` when a required value is missing.
Names a spec refers to (teams, users) are returned as ``Reference``s and checked by the
loader once every file has been read.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from adapters.configrepo import checks
from adapters.configrepo.git_authentication import parse_git_authentication
from adapters.configrepo.nodes import Fields, line_of
from adapters.configrepo.quantities import request_exceeds_limit
from domain.config.model import (
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
from domain.triggers.ports import ScheduleFactory

PIPELINE_FIELDS = (
    "repository", "branch_filter", "triggers", "script", "max_duration_seconds",
    "workspace_size_gb", "worker", "permissions", "webhook_secret_name", "concurrency",
    "entrypoint",
)  # fmt: skip
METADATA_FIELDS = {"Pipeline": ("name", "team")}
TRIGGER_FIELDS = {
    TriggerKind.PUSH: ("branches",),
    TriggerKind.PULL_REQUEST: ("branches",),
    TriggerKind.TAG: ("tags",),
    TriggerKind.CRON: ("schedule", "timezone", "branch"),
}
ALL_TRIGGER_FIELDS = ("on", "branches", "tags", "schedule", "timezone", "branch")
_OLD_TRIGGER_FIELDS = ("kind",)  # the spelling before the documented format
_LEVELS = ", ".join(level.value for level in Permission)


@dataclass(frozen=True)
class Reference:
    """A name of another kind (``Team``, ``User``) used by a document, and where; or, with
    kind ``email``, a value that no other document may claim."""

    kind: str
    name: str
    file: str
    line: int
    field: str


def _level(value: str) -> str | None:
    if value in {level.value for level in Permission}:
        return None
    return f"unknown permission level '{value}': expected one of {_LEVELS}"


def _branch_name(value: str) -> str | None:
    if any(ch in value for ch in "*?["):
        return f"invalid branch '{value}': a cron trigger runs on one branch, not a glob"
    return checks.glob(value)


def _egress_entry(value: str) -> str | None:
    if not value or any(ch.isspace() for ch in value):
        return f"invalid egress allowlist entry '{value}': must not be empty or contain spaces"
    return None


def parse_pipeline(
    name: str, metadata: Fields, spec: Fields, refs: list[Reference], schedules: ScheduleFactory
) -> Pipeline | None:
    repository = spec.string("repository", checks.repository_url, required=True)
    max_duration = spec.integer("max_duration_seconds", minimum=1)
    workspace = spec.integer("workspace_size_gb", minimum=1)
    team = _owning_team(metadata, refs)
    permissions = _permissions(spec, refs)
    if team is not None and team not in {granted for granted, _ in permissions}:
        permissions.insert(0, (team, Permission.ADMIN))
    result = Pipeline(
        name=name,
        repository=repository or "",
        branch_filter=spec.strings("branch_filter", checks.glob),
        triggers=tuple(_triggers(spec, schedules)),
        script=spec.string("script", checks.relative_path) or "danubefile.py",
        max_duration_seconds=3600 if max_duration is None else max_duration,
        workspace_size_gb=10 if workspace is None else workspace,
        worker=_worker(spec.mapping("worker", ("image", "resources"))),
        permissions=tuple(permissions),
        webhook_secret_name=spec.string("webhook_secret_name", checks.secret_name),
        concurrency=spec.integer("concurrency", minimum=1),
        entrypoint=spec.string("entrypoint", checks.non_empty),
        team=team or "",
    )
    return result if repository is not None and team is not None else None


def _owning_team(metadata: Fields, refs: list[Reference]) -> str | None:
    node = metadata.get("team")
    if node is None:
        if not metadata.wrong_type:
            message = "missing required field: the owning team (e.g. 'team: engineering')"
            metadata.error(None, "team", message)
        return None
    team = metadata.scalar(node, "team", (checks.dns_name,))
    if team is not None:
        refs.append(
            Reference("Team", team, metadata.problems.file, line_of(node), metadata.field("team"))
        )
    return team


def _permissions(spec: Fields, refs: list[Reference]) -> list[tuple[str, Permission]]:
    node = spec.get("permissions")
    if isinstance(node, yaml.MappingNode):
        written = ", ".join(
            f"{{team: {key.value}, level: {value.value}}}"
            if isinstance(value, yaml.ScalarNode)
            else f"{{team: {key.value}, level: ...}}"
            for key, value in node.value
        )
        spec.error(node, "permissions", f"a mapping of teams is written as a list: [{written}]")
        return []
    permissions: list[tuple[str, Permission]] = []
    for path, item in spec.items("permissions"):
        entry = Fields(spec.problems, item, spec.field(path), ("team", "level"))
        team = entry.string("team", checks.dns_name, required=True)
        level = entry.string("level", _level, required=True)
        if team is None or level is None:
            continue
        if team in {granted for granted, _ in permissions}:
            entry.error(entry.get("team"), "team", f"team '{team}' is listed twice")
            continue
        permissions.append((team, Permission(level)))
        line = line_of(entry.get("team"))  # type: ignore[arg-type]  # present: it was read
        refs.append(Reference("Team", team, spec.problems.file, line, entry.field("team")))
    return permissions


def _triggers(spec: Fields, schedules: ScheduleFactory) -> list[Trigger]:
    allowed = (*ALL_TRIGGER_FIELDS, *_OLD_TRIGGER_FIELDS)
    found = (
        _trigger(Fields(spec.problems, node, spec.field(path), allowed), schedules)
        for path, node in spec.items("triggers")
    )
    return [trigger for trigger in found if trigger is not None]


def _trigger_kind(value: str) -> str | None:
    kinds = [kind.value for kind in TriggerKind]
    if value in kinds:
        return None
    return f"unknown trigger kind '{value}': expected one of {', '.join(kinds)}"


def _trigger(fields: Fields, schedules: ScheduleFactory) -> Trigger | None:
    if (old := fields.get("kind")) is not None:
        written = old.value if isinstance(old, yaml.ScalarNode) else "..."
        fields.error(None, "", f"'kind: {written}' is written 'on: {written}'")
        return None
    kind_text = fields.string("on", _trigger_kind, required=True)
    if kind_text is None:
        return None
    kind = TriggerKind(kind_text)
    others = set(ALL_TRIGGER_FIELDS) - {"on", *TRIGGER_FIELDS[kind]}
    fields.forbid(sorted(others), f"for a {kind.value} trigger")
    cron = kind is TriggerKind.CRON
    timezone = fields.string("timezone", checks.timezone)
    # A bad timezone is reported on its own field; the schedule is checked in UTC then.
    schedule = checks.cron_schedule(schedules, timezone or "UTC")
    return Trigger(
        kind=kind,
        branches=fields.strings("branches", checks.glob),
        tags=fields.strings("tags", checks.glob),
        schedule=fields.string("schedule", schedule, required=cron),
        timezone=timezone or "UTC",
        branch=fields.string("branch", _branch_name),
    )


def _worker(worker: Fields) -> Worker:
    image = worker.string("image", checks.image_reference) or Worker().image
    resources = worker.mapping("resources", ("requests", "limits"))
    requests = resources.mapping("requests", ("cpu", "memory"))
    limits = resources.mapping("limits", ("cpu", "memory"))
    default = Resources()
    values = {}
    for section, prefix in ((requests, "request"), (limits, "limit")):
        for resource in ("cpu", "memory"):
            text = section.string(resource, checks.quantity, numbers=True)
            values[f"{resource}_{prefix}"] = text or getattr(default, f"{resource}_{prefix}")
    for resource in ("cpu", "memory"):
        request, limit = values[f"{resource}_request"], values[f"{resource}_limit"]
        if request_exceeds_limit(request, limit):
            message = f"the request {request} is greater than the limit {limit}"
            if limits.get(resource) is None:
                message += f" (the default limit; set limits.{resource})"
            elif requests.get(resource) is None:
                message += f" (the default request; set requests.{resource})"
            side = requests if requests.get(resource) is not None else limits
            side.error(side.get(resource), resource, message)
    return Worker(image=image, resources=Resources(**values))


def parse_user(name: str, metadata: Fields, spec: Fields, refs: list[Reference]) -> User | None:
    email = spec.string("email", checks.email, required=True)
    password_hash = spec.string("password_hash", checks.bcrypt_hash, required=True)
    display_name = spec.string("display_name")
    if email is None:
        return None
    line = line_of(spec.get("email"))  # type: ignore[arg-type]  # present: it was read
    refs.append(Reference("email", email.lower(), spec.problems.file, line, spec.field("email")))
    return User(name, email, password_hash or "", display_name or "")


def parse_team(name: str, metadata: Fields, spec: Fields, refs: list[Reference]) -> Team:
    """Members are e-mail addresses; the loader matches them to the users' (``member``
    references), and tells a user name written instead what to write."""
    members: list[str] = []
    for path, node in spec.items("members"):
        member = spec.scalar(node, path, (checks.non_empty,))
        if member is None:
            continue
        if member.lower() in {m.lower() for m in members}:
            spec.error(node, path, f"'{member}' is listed twice")
            continue
        members.append(member)
        refs.append(Reference("member", member, spec.problems.file, line_of(node),
                              spec.field(path)))  # fmt: skip
    return Team(name, tuple(members), bool(spec.boolean("global_admin")))


def parse_settings(name: str, metadata: Fields, spec: Fields, refs: list[Reference]) -> Settings:
    k8s = spec.mapping("kubernetes", ("namespace_jobs", "coordinator_image"))
    retention = spec.mapping("retention", ("logs_days", "artifacts_days", "registry_images_days"))
    server = spec.mapping("server", ("bind_address", "data_dir"))
    observability = spec.mapping(
        "observability", ("otel_endpoint", "metrics_enabled", "traces_enabled")
    )
    default_k8s, default_retention = KubernetesConfig(), Retention()
    default_observability = Observability()
    days = {
        key: retention.integer(key, minimum=1) or getattr(default_retention, key)
        for key in ("logs_days", "artifacts_days", "registry_images_days")
    }
    metrics, traces = (
        observability.boolean("metrics_enabled"),
        observability.boolean("traces_enabled"),
    )
    return Settings(
        kubernetes=KubernetesConfig(
            namespace_jobs=k8s.string("namespace_jobs", checks.dns_name)
            or default_k8s.namespace_jobs,
            coordinator_image=k8s.string("coordinator_image", checks.image_reference)
            or default_k8s.coordinator_image,
        ),
        retention=Retention(**days),
        observability=Observability(
            otel_endpoint=observability.string("otel_endpoint", checks.non_empty) or "",
            metrics_enabled=default_observability.metrics_enabled if metrics is None else metrics,
            traces_enabled=default_observability.traces_enabled if traces is None else traces,
        ),
        egress_allowlist=spec.strings("egress_allowlist", _egress_entry),
        git_authentication=parse_git_authentication(spec),
        server=ServerOverrides(
            bind_address=server.string("bind_address", checks.non_empty) or "",
            data_dir=server.string("data_dir", checks.non_empty) or "",
        ),
    )


SETTINGS_FIELDS = ("server", "kubernetes", "retention", "observability", "egress_allowlist",
                   "git_authentication")  # fmt: skip
USER_FIELDS = ("email", "password_hash", "display_name")
TEAM_FIELDS = ("members", "global_admin")
