"""Mistakes in the YAML itself, in the document envelope, and in users, teams and Config."""

from pathlib import Path

import pytest

from adapters.configrepo import load_config
from adapters.cron import CroniterSchedule
from tests.unit.config.repo import HASH, HEADER, errors, where

USER = HEADER + "kind: User\nmetadata:\n  name: alice\nspec:\n"
TEAM = HEADER + "kind: Team\nmetadata:\n  name: ops\nspec:\n"
CONFIG = HEADER + "kind: Config\nmetadata:\n  name: danube\nspec:\n"
USER_SPEC = f"spec: {{email: a@b.c, password_hash: '{HASH}'}}\n"

CASES = [
    # (file, text, line, field, message fragment)
    ("users.yaml", "kind: User\nspec: {email: [\n", 3, "",
     "invalid YAML: expected the node content, but found '<stream end>'"),
    ("users.yaml", "a: 1\n b: 2\n", 2, "", "invalid YAML: mapping values are not allowed here"),
    ("users.yaml", "a: &x [1]\nb: *x\n", 2, "", "YAML aliases (*name) are not supported"),
    ("users.yaml", "- just\n- a list\n", 1, "", "expected a mapping, got a list"),
    ("users.yaml", "kind: User\nmetadata: {name: a}\n" + USER_SPEC, 1,
     "apiVersion", "missing required field"),
    ("users.yaml", "apiVersion: danube.dev/v2\nkind: User\nmetadata: {name: a}\n"
     + USER_SPEC, 1, "apiVersion",
     "unsupported apiVersion 'danube.dev/v2': expected 'danube.dev/v1'"),
    ("users.yaml", HEADER + "metadata: {name: a}\n", 1, "kind", "missing required field"),
    ("users.yaml", HEADER + "kind: Usr\n", 2, "kind",
     "unknown kind 'Usr': expected one of Config, Pipeline, Team, User"),
    ("users.yaml", TEAM, 2, "kind", "kind Team does not belong in users.yaml (expected User)"),
    ("pipelines/x.yaml", USER + "  email: a@b.c\n", 2, "kind",
     "kind User does not belong in pipelines/x.yaml (expected Pipeline)"),
    ("users.yaml", HEADER + "kind: User\n" + USER_SPEC, 1, "metadata.name",
     "missing required field"),
    ("users.yaml", HEADER + "kind: User\nmetadata: {}\n" + USER_SPEC, 3,
     "metadata.name", "missing required field"),
    ("users.yaml", HEADER + "kind: User\nmetadata:\n  name: Alice\n" + USER_SPEC, 4,
     "metadata.name", "invalid name 'Alice': use lowercase letters"),
    ("users.yaml", HEADER + "kind: User\nmetadata:\n  name: a_b\n" + USER_SPEC, 4,
     "metadata.name", "invalid name 'a_b'"),
    ("users.yaml", HEADER + f"kind: User\nmetadata:\n  name: {'a' * 64}\n" + USER_SPEC,
     4, "metadata.name", "at most 63 characters"),
    ("users.yaml", HEADER + "kind: User\nmetadata:\n  name: a\n  labels: {}\n"
     + USER_SPEC, 5, "metadata.labels", "unknown field"),
    ("users.yaml", HEADER + "kind: User\nmetadata: {name: a}\n" + USER_SPEC + "specs: {}\n",
     5, "specs", "unknown field (did you mean 'spec'?)"),
    ("users.yaml", USER + f"  display_name: A\n  password_hash: '{HASH}'\n", 5, "spec.email", "missing required field"),
    ("users.yaml", USER + f"  email: alice\n  password_hash: '{HASH}'\n", 6, "spec.email", "invalid email address 'alice'"),
    ("users.yaml", USER + "  email: a@b.c\n  password_hash: hunter2\n", 7, "spec.password_hash",
     "invalid bcrypt hash"),
    ("users.yaml", USER + "  email: a@b.c\n  password_hash: '$2b$12$short'\n", 7,
     "spec.password_hash", "invalid bcrypt hash"),
    ("users.yaml", USER + f"  email: a@b.c\n  password_hash: '{HASH}'\n  password: x\n", 8, "spec.password",
     "did you mean 'password_hash'?"),
    ("teams.yaml", TEAM + "  global_admin: 'yes'\n", 6, "spec.global_admin",
     "expected true or false, got a string"),
    ("teams.yaml", TEAM + "  members: [1]\n", 6, "spec.members[0]",
     "expected a string, got a number"),
    ("teams.yaml", TEAM + "  members:\n    - Bob\n", 7, "spec.members[0]",
     "'Bob' is not an e-mail address: members are users' e-mail addresses"),
    ("config.yaml", CONFIG + "  kubernetes:\n    namespace_jobs: CI_Jobs\n", 7,
     "spec.kubernetes.namespace_jobs", "invalid name 'CI_Jobs'"),
    ("config.yaml", CONFIG + "  kubernetes:\n    coordinator_image: 'x y'\n", 7,
     "spec.kubernetes.coordinator_image", "invalid image reference"),
    ("config.yaml", CONFIG + "  retention:\n    logs_days: 0\n", 7, "spec.retention.logs_days",
     "must be at least 1"),
    ("config.yaml", CONFIG + "  retention:\n    log_days: 3\n", 7, "spec.retention.log_days",
     "did you mean 'logs_days'?"),
    ("config.yaml", CONFIG + "  egress_allowlist: ['a b']\n", 6, "spec.egress_allowlist[0]",
     "must not be empty or contain spaces"),
    ("config.yaml", CONFIG + "  observability:\n    otel_endpoint: 0.5\n", 7,
     "spec.observability.otel_endpoint", "expected a string, got a number (put it in quotes)"),
    ("config.yaml", CONFIG + "  observability:\n    metrics_enabled: maybe\n", 7,
     "spec.observability.metrics_enabled", "expected true or false, got a string"),
    ("config.yaml", CONFIG + "  server:\n    bind_adress: x\n", 7,
     "spec.server.bind_adress", "did you mean 'bind_address'?"),
    ("config.yaml", CONFIG + "  git_authentication: [github]\n", 6,
     "spec.git_authentication[0]", "expected a mapping, got a string"),
    ("config.yaml", CONFIG + "  git_authentication:\n    github.com: github-token\n", 7,
     "spec.git_authentication", "is written as a list of credentials"),
    ("config.yaml", CONFIG + "  git_authentication:\n    - {type: gitlab_token, name: gl,"
     " match_patterns: ['*']}\n", 7, "spec.git_authentication[0].token_secret",
     "missing required field"),
    ("config.yaml", CONFIG + "  git_authentication:\n    - {type: github_app, name: gh,"
     " app_id: 1, installation_id: 2, private_key_secret: k}\n", 7,
     "spec.git_authentication[0].match_patterns", "missing required field"),
    ("config.yaml", CONFIG + "  git_authentication:\n    - {type: ssh_key, name: k,"
     " private_key_path: /k, token_secret: t, match_patterns: ['*']}\n", 7,
     "spec.git_authentication[0].token_secret", "not allowed for a ssh_key credential"),
    ("config.yaml", CONFIG + "  git_authentication:\n    - {type: password, name: k,"
     " match_patterns: ['*']}\n", 7, "spec.git_authentication[0].type",
     "unknown git authentication type 'password': expected one of ssh_key, gitlab_token,"
     " github_app"),
    ("users.yaml", USER + "  email: a@b.c\n", 5, "spec.password_hash", "missing required field"),
    ("users.yaml", USER + "  email: a@b.c\n  password_hash: '$2b$12$...'\n", 7,
     "spec.password_hash", "invalid bcrypt hash"),
]  # fmt: skip


@pytest.mark.parametrize(("file", "text", "line", "field", "message"), CASES)
def test_a_mistake_in_a_document_is_reported_where_it_is(
    tmp_path: Path, file: str, text: str, line: int, field: str, message: str
) -> None:
    [error] = errors(tmp_path, {file: text})

    assert where(error) == (file, line, field)
    assert message in error.message


def test_a_yaml_syntax_error_reads_as_file_line_message(tmp_path: Path) -> None:
    [error] = errors(tmp_path, {"teams.yaml": "a: 1\n b: 2\n"})

    assert str(error) == "teams.yaml:2: invalid YAML: mapping values are not allowed here"


def test_a_symbolic_link_is_refused_without_reading_its_target(tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("root:x:0:0\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "users.yaml").symlink_to(secret)

    [error] = errors(repo, {})

    assert str(error) == "users.yaml: symbolic links are not allowed in the config repository"


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    (tmp_path / "teams.yaml").write_bytes(b"kind: \xff\n")

    [error] = errors(tmp_path, {})

    assert where(error) == ("teams.yaml", None, "")
    assert "not valid UTF-8" in error.message


def test_a_symbolic_link_to_a_pipelines_directory_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "web.yaml").write_text("kind: Pipeline\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pipelines").symlink_to(elsewhere)

    [error] = errors(repo, {})

    assert str(error) == "pipelines: symbolic links are not allowed in the config repository"


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "users.yaml").write_text("#" * (1024 * 1024 + 1))

    [error] = errors(tmp_path, {})

    assert str(error) == "users.yaml: file is larger than 1048576 bytes"


def test_a_directory_that_does_not_exist_is_not_an_empty_config(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing", "c", schedules=CroniterSchedule)
