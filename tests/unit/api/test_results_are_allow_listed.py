"""What the application layer answers is allow-listed field by field: a field added to
a read model (or a new result type) reaches no caller until it is named here, so sealed
or secret material can never leave by default. And nothing sealed is in any read model,
query result or GraphQL type to begin with (the executor reads it from the event log)."""

from __future__ import annotations

import dataclasses
from types import ModuleType

from api.app import admin, commands, results, tokens
from api.bootstrap import all_projections
from api.graphql.schema import build_schema
from projections import config_view, runs_view

ALLOWED: dict[str, set[str]] = {
    "Status": {"label", "terminal"},
    "StepResult": {"job_id", "number", "name", "command", "image", "state", "exit_code",
                   "log_start", "log_end", "reason", "started_at", "finished_at",
                   "timeout_seconds"},
    "ArtifactResult": {"job_id", "name", "kind", "size", "sha256", "uploaded_at"},
    "JobResult": {"id", "run_id", "name", "pipeline", "state", "reason", "requested_at",
                  "scheduled_at", "started_at", "finished_at", "step_count",
                  "cancel_requested", "secrets_read", "reused_from", "repository", "ref",
                  "commit_sha", "trigger_type", "trigger_ref", "log_reaped",
                  "artifacts_reaped"},
    "RunResult": {"id", "pipeline", "repository", "ref", "branch", "commit_sha",
                  "trigger_type", "trigger_ref", "delivery_id", "actor", "state",
                  "cancel_requested", "requested_at", "started_at", "finished_at",
                  "waiting_reason", "version", "job_ids", "retry_of"},
    "RunAsOf": {"run", "jobs", "steps", "artifacts"},
    "PipelineResult": {"name", "repository", "configured", "run_count", "last_run_id",
                       "last_state", "last_requested_at"},
    "QueueEntry": {"position", "job", "reason"},
    "LogChunk": {"offset", "text", "next_offset", "complete"},
    "EventRecord": {"version", "type", "timestamp", "data"},  # data: SEALED_FIELDS left out
    "SystemStatus": {"draining", "config_commit", "projection_lag_seconds"},
    "Page": {"items", "end_cursor", "has_next_page"},
    "AuditEntry": {"id", "at", "action", "actor", "pipeline", "run_id", "job_id",
                   "delivery_id", "trigger", "reason", "detail"},
    "Cancelled": {"run_id", "position"},
    "SecretReadResult": {"at", "key", "scope", "pipeline", "run_id", "job_id"},
    "SecretChanged": {"pipeline", "key", "position"},  # never the value
    "KeyRotated": {"old_key_id", "new_key_id", "rewrapped"},
    "ConfigError": {"file", "line", "field", "message"},
    "ConfigStatus": {"repository", "branch", "commit", "synced_at", "rejected_commit",
                     "rejected_at", "errors", "fetch_problem", "fetch_problem_at"},
    "DeliveryResult": {"id", "provider", "delivery_id", "event", "received_at", "processed",
                       "outcome", "runs", "reason", "processed_at", "replays"},
    "Replayed": {"outcome", "runs", "reason"},
    "ApiTokenResult": {"id", "name", "scope", "created_at", "expires_at", "revoked_at"},
    "CreatedApiToken": {"token", "api_token"},  # the new token, shown once to its owner
}  # fmt: skip
SEALED_WORDS = ("sealed", "ciphertext", "nonce", "env_", "environment", "plaintext")


def dataclasses_of(*modules: ModuleType) -> dict[str, set[str]]:
    return {
        name: {field.name for field in dataclasses.fields(cls)}
        for module in modules
        for name, cls in vars(module).items()
        if isinstance(cls, type)
        and dataclasses.is_dataclass(cls)
        and cls.__module__ == module.__name__
    }


def sealed(names: set[str]) -> set[str]:
    return {name for name in names if any(word in name.lower() for word in SEALED_WORDS)}


def test_every_application_layer_result_is_allow_listed_field_by_field() -> None:
    found = dataclasses_of(results, commands, admin, tokens)
    assert set(found) == set(ALLOWED), "a result type was added or removed: list its fields"
    for name, fields in found.items():
        assert fields == ALLOWED[name], f"{name}: review the new fields and list them"


def test_no_read_model_view_or_table_carries_sealed_material() -> None:
    views = dataclasses_of(runs_view, config_view)
    assert {name: sealed(fields) for name, fields in views.items() if sealed(fields)} == {}
    columns = {
        f"{table.name}.{column.name}"
        for projection in all_projections()
        for table in projection.tables
        for column in table.columns
    }
    assert sealed(columns) == set()


def test_no_query_result_or_graphql_type_carries_sealed_material() -> None:
    for name, fields in dataclasses_of(results, commands, admin, tokens).items():
        assert sealed(fields) == set(), name
    sdl = build_schema().as_str().lower()
    assert [word for word in ("sealed", "ciphertext", "nonce") if word in sdl] == []
