"""The format DESIGN.md §6 documents is the one the loader reads, and the spelling it
replaced is told what to write instead."""

import shutil
from pathlib import Path

import pytest

from adapters.configrepo import load_config
from adapters.cron import CroniterSchedule
from domain.config.model import (
    GitAuthentication,
    GitAuthenticationType,
    Observability,
    Permission,
    Resources,
    Retention,
    ServerOverrides,
    Trigger,
    TriggerKind,
)
from tests.unit.config.repo import HASH, HEADER, errors, load, pipeline, where

DOCUMENTED = Path(__file__).parent / "documented"
REPO = "repository: https://github.com/acme/web\n"


def test_the_documented_examples_load_as_they_read(tmp_path: Path) -> None:
    shutil.copytree(DOCUMENTED, tmp_path / "repo")

    config = load_config(tmp_path / "repo", "c0ffee", schedules=CroniterSchedule)

    [frontend] = config.pipelines
    assert frontend.team == "engineering"
    assert frontend.triggers == (
        Trigger(TriggerKind.PUSH, branches=("main", "develop")),
        Trigger(TriggerKind.PULL_REQUEST),
        Trigger(TriggerKind.TAG),
        Trigger(TriggerKind.CRON, schedule="0 0 * * *"),
    )
    assert frontend.permissions == (("engineering", Permission.ADMIN), ("qa", Permission.READ))
    assert frontend.worker.resources == Resources("500m", "512Mi", "2000m", "2Gi")
    assert [(t.name, t.members, t.global_admin) for t in config.teams] == [
        ("engineering", ("alice@example.com", "bob@example.com"), False),
        ("platform", ("alice@example.com",), True),
        ("qa", ("bob@example.com",), False),
    ]
    assert [(u.name, u.email) for u in config.users] == [
        ("alice", "alice@example.com"),
        ("bob", "bob@example.com"),
    ]
    settings = config.settings
    assert settings.server == ServerOverrides("0.0.0.0:8080", "/var/lib/danube")
    assert settings.retention == Retention(30, 14, 30)
    assert settings.observability == Observability("http://otel-collector:4317", True, True)
    assert settings.egress_allowlist == ("pypi.org", "*.github.com", "registry.danube-system")
    assert settings.git_authentication == (
        GitAuthentication(
            GitAuthenticationType.GITHUB_APP, "acme-app", ("github.com/acme/*",),
            app_id="123456", installation_id="78910", private_key_secret="github-app-acme-key",
        ),
        GitAuthentication(
            GitAuthenticationType.GITLAB_TOKEN, "gitlab-internal", ("gitlab.example.com/*",),
            url="https://gitlab.example.com", token_secret="gitlab-token",
        ),
        GitAuthentication(
            GitAuthenticationType.SSH_KEY, "fallback", ("*",),
            private_key_path="/var/lib/danube/keys/git_fallback_key",
        ),
    )  # fmt: skip


def test_the_owning_team_gets_admin_unless_permissions_say_otherwise(tmp_path: Path) -> None:
    files = {
        "pipelines/a.yaml": pipeline(REPO, name="a"),
        "pipelines/b.yaml": pipeline(REPO + "permissions: [{team: web, level: read}]", name="b"),
    }

    a, b = load(tmp_path, files).pipelines

    assert a.permissions == (("web", Permission.ADMIN),)
    assert b.permissions == (("web", Permission.READ),)


OLD_SPELLING = [
    # (spec starting at line 7, line, field, the whole message)
    (REPO + "triggers:\n  - kind: push", 9, "spec.triggers[0]",
     "'kind: push' is written 'on: push'"),
    (REPO + "triggers:\n  - {on: tag}\n  - {kind: cron, schedule: '@daily'}", 10,
     "spec.triggers[1]", "'kind: cron' is written 'on: cron'"),
    (REPO + "permissions:\n  web: write\n  qa: read", 9, "spec.permissions",
     "a mapping of teams is written as a list: "
     "[{team: web, level: write}, {team: qa, level: read}]"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "line", "field", "message"), OLD_SPELLING)
def test_the_old_spelling_is_told_what_to_write_instead(
    tmp_path: Path, spec: str, line: int, field: str, message: str
) -> None:
    [error] = errors(tmp_path, {"pipelines/web.yaml": pipeline(spec)})

    assert (where(error), error.message) == (("pipelines/web.yaml", line, field), message)


def test_a_pipeline_without_an_owning_team_is_told_to_name_one(tmp_path: Path) -> None:
    text = f"{HEADER}kind: Pipeline\nmetadata:\n  name: web\nspec:\n  {REPO}"

    [error] = errors(tmp_path, {"pipelines/web.yaml": text})

    assert str(error) == (
        "pipelines/web.yaml:3: metadata.team: missing required field: "
        "the owning team (e.g. 'team: engineering')"
    )


def test_an_old_git_authentication_mapping_is_told_to_be_a_list(tmp_path: Path) -> None:
    text = f"{HEADER}kind: Config\nmetadata: {{name: x}}\nspec:\n  git_authentication:\n"
    text += "    github.com: github-token\n"

    [error] = errors(tmp_path, {"config.yaml": text})

    assert where(error) == ("config.yaml", 6, "spec.git_authentication")
    assert error.message.startswith("is written as a list of credentials: [{type: ")


def test_on_is_a_string_as_a_key_and_where_a_string_is_expected(tmp_path: Path) -> None:
    spec = REPO + "branch_filter: [on, off, yes]\ntriggers:\n  - on: push\n    branches: [on]"
    team = f"{HEADER}kind: Team\nmetadata: {{name: web}}\nspec: {{global_admin: on}}\n"

    config = load(tmp_path, {"teams.yaml": team, "pipelines/web.yaml": pipeline(spec)})

    [web] = config.pipelines
    assert web.branch_filter == ("on", "off", "yes")
    assert web.triggers == (Trigger(TriggerKind.PUSH, branches=("on",)),)
    assert config.teams[0].global_admin is True  # a boolean field keeps YAML's boolean


def test_only_the_key_on_is_read_as_a_string(tmp_path: Path) -> None:
    found = errors(tmp_path, {"pipelines/web.yaml": pipeline(REPO + "triggers:\n  - yes: push")})

    assert [(where(e), e.message) for e in found] == [
        (("pipelines/web.yaml", 9, "spec.triggers[0]"), "keys must be strings, got a boolean"),
        (("pipelines/web.yaml", 9, "spec.triggers[0].on"), "missing required field"),
    ]


def test_a_user_needs_a_bcrypt_password_hash(tmp_path: Path) -> None:
    user = f"{HEADER}kind: User\nmetadata: {{name: a}}\nspec:\n  email: a@b.c\n"

    [missing] = errors(tmp_path / "1", {"users.yaml": user})
    [bad] = errors(tmp_path / "2", {"users.yaml": user + "  password_hash: '$2b$12$...'\n"})
    good = load(tmp_path / "3", {"users.yaml": user + f"  password_hash: '{HASH}'\n"})

    assert (where(missing), missing.message) == (
        ("users.yaml", 4, "spec.password_hash"),
        "missing required field",
    )
    assert where(bad) == ("users.yaml", 6, "spec.password_hash")
    assert bad.message.startswith("invalid bcrypt hash")
    assert good.users[0].password_hash == HASH
