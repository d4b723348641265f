"""Read models of the configuration in force: pipelines, users, teams, permissions, and
the config's own state (commit, sync time, last rejection, fetch problems)."""

from __future__ import annotations

from typing import Any

from domain.config.aggregates import ConfigRepository
from projections.model import Column, ColumnType, Row, Rows, Table

INT, JSON = ColumnType.INTEGER, ColumnType.JSON
STATE_ID = "current"

STATE = Table(
    "config_state",
    (
        Column("commit_sha"),
        Column("accepted_at"),
        Column("rejected_commit"),
        Column("rejected_at"),
        Column("errors", JSON),
        Column("fetch_problem"),
        Column("fetch_problem_at"),
        Column("members", JSON),  # ids of the rows below, to drop what a new config removes
    ),
)
PIPELINES = Table(
    "config_pipelines",
    (
        Column("repository"),
        Column("definition", JSON),
        Column("commit_sha"),
    ),
)
USERS = Table("config_users", (Column("email"), Column("display_name"), Column("password_hash")))
TEAMS = Table("config_teams", (Column("members", JSON), Column("global_admin", INT)))
PERMISSIONS = Table(
    "config_permissions",
    (Column("team"), Column("pipeline"), Column("level")),
    indexes=(("pipeline",), ("team",)),
)


class ConfigProjection:
    name = "config"
    tables = (STATE, PIPELINES, USERS, TEAMS, PERMISSIONS)
    topics = frozenset(
        cls.TOPIC
        for cls in (
            ConfigRepository.Accepted,
            ConfigRepository.Rejected,
            ConfigRepository.FetchFailed,
            ConfigRepository.FetchRecovered,
        )
    )

    def apply(self, event: Any, rows: Rows) -> None:
        state = rows.get("config_state", STATE_ID) or STATE.blank(STATE_ID)
        at = event.timestamp.isoformat()
        topic = type(event).TOPIC
        if topic == ConfigRepository.Accepted.TOPIC:
            state.update(commit_sha=event.commit, accepted_at=at)
            state["members"] = _replace_members(event.config, state.get("members") or {}, rows)
        elif topic == ConfigRepository.Rejected.TOPIC:
            state.update(rejected_commit=event.commit, rejected_at=at, errors=event.errors)
        elif topic == ConfigRepository.FetchFailed.TOPIC:
            state.update(fetch_problem=event.problem, fetch_problem_at=at)
        elif topic == ConfigRepository.FetchRecovered.TOPIC:
            state.update(fetch_problem="", fetch_problem_at=at)
        rows.put("config_state", state)


def _replace_members(
    config: dict[str, Any], previous: dict[str, list[str]], rows: Rows
) -> dict[str, list[str]]:
    """Write the rows of a newly accepted config; delete what it no longer has."""
    commit = config.get("commit", "")
    new: dict[str, list[Row]] = {name: [] for name in ("pipelines", "users", "teams", "perms")}
    for pipeline in config.get("pipelines", []):
        row = PIPELINES.blank(pipeline["name"])
        row.update(repository=pipeline["repository"], definition=pipeline, commit_sha=commit)
        new["pipelines"].append(row)
        for team, level in pipeline.get("permissions", []):
            perm = PERMISSIONS.blank(f"{team}:{pipeline['name']}")
            perm.update(team=team, pipeline=pipeline["name"], level=level)
            new["perms"].append(perm)
    for user in config.get("users", []):
        row = USERS.blank(user["name"])
        row.update(
            email=user.get("email", ""),
            display_name=user.get("display_name", ""),
            password_hash=user.get("password_hash", ""),
        )
        new["users"].append(row)
    for team in config.get("teams", []):
        row = TEAMS.blank(team["name"])
        row.update(
            members=list(team.get("members", [])), global_admin=1 if team.get("global_admin") else 0
        )
        new["teams"].append(row)
    tables = {
        "pipelines": "config_pipelines",
        "users": "config_users",
        "teams": "config_teams",
        "perms": "config_permissions",
    }
    members: dict[str, list[str]] = {}
    for kind, table in tables.items():
        ids = {row["id"] for row in new[kind]}
        for gone in set(previous.get(kind, [])) - ids:
            rows.delete(table, gone)
        for row in new[kind]:
            rows.put(table, row)
        members[kind] = sorted(ids)
    return members
