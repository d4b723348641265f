"""Checks that need the whole repository: duplicates, references, and many errors at once."""

from pathlib import Path

import pytest

from adapters.configrepo import ConfigInvalidError, load_config
from adapters.cron import CroniterSchedule
from tests.unit.config.repo import HASH, HEADER, errors, pipeline, where, write

REPO = "repository: /srv/git/web\n"


def team(name: str, members: str = "[]") -> str:
    return f"{HEADER}kind: Team\nmetadata:\n  name: {name}\nspec:\n  members: {members}\n"


def user(name: str) -> str:
    return (
        f"{HEADER}kind: User\nmetadata:\n  name: {name}\nspec:\n  email: {name}@example.com\n"
        f"  password_hash: '{HASH}'\n"
    )


def config(name: str = "danube") -> str:
    return f"{HEADER}kind: Config\nmetadata:\n  name: {name}\n"


def test_a_pipeline_name_used_in_two_files_names_both_places(tmp_path: Path) -> None:
    files = {"pipelines/a.yaml": pipeline(REPO), "pipelines/b.yaml": pipeline(REPO)}

    [error] = errors(tmp_path, files)

    assert str(error) == (
        "pipelines/b.yaml:4: metadata.name: duplicate Pipeline name 'web' "
        "(first defined at pipelines/a.yaml:4)"
    )


def test_a_duplicate_user_in_the_same_file_is_reported(tmp_path: Path) -> None:
    second = user("bob").replace("bob@", "robert@")

    [error] = errors(tmp_path, {"users.yaml": user("bob") + "---\n" + second})

    assert where(error) == ("users.yaml", 12, "metadata.name")
    assert "first defined at users.yaml:4" in error.message


def test_the_same_name_in_different_kinds_is_no_duplicate(tmp_path: Path) -> None:
    files = {
        "users.yaml": user("web"),
        "teams.yaml": team("web"),
        "pipelines/w.yaml": pipeline(REPO),
    }

    assert (
        load_config(write(tmp_path, files), "c", schedules=CroniterSchedule).teams[0].name == "web"
    )


def test_a_second_config_document_is_refused_whatever_its_name(tmp_path: Path) -> None:
    files = {"config.yaml": config("one"), "config.yml": config("two")}

    [error] = errors(tmp_path, files)

    assert where(error) == ("config.yml", 4, "metadata.name")
    assert error.message == "kind Config may appear only once (first at config.yaml:4)"


def test_a_permission_for_an_unknown_team_is_reported(tmp_path: Path) -> None:
    files = {
        "teams.yaml": team("backend"),
        "pipelines/web.yaml": pipeline(
            REPO
            + "permissions:\n  - {team: backend, level: read}\n  - {team: backedn, level: write}",
            team="backend",
        ),
    }

    [error] = errors(tmp_path, files)

    assert where(error) == ("pipelines/web.yaml", 10, "spec.permissions[1].team")
    assert error.message == "unknown team 'backedn' (did you mean 'backend'?)"


def test_without_teams_yaml_every_referenced_team_is_unknown(tmp_path: Path) -> None:
    text = pipeline(REPO + "permissions: [{team: qa, level: read}]", team="qa")
    found = errors(tmp_path, {"teams.yaml": "", "pipelines/web.yaml": text})

    assert [(where(e), e.message) for e in found] == [
        (("pipelines/web.yaml", 5, "metadata.team"), "unknown team 'qa': not defined in teams.yaml"),
        (("pipelines/web.yaml", 8, "spec.permissions[0].team"),
         "unknown team 'qa': not defined in teams.yaml"),
    ]  # fmt: skip


def test_the_owning_team_must_exist_and_gets_admin(tmp_path: Path) -> None:
    [error] = errors(tmp_path, {"pipelines/web.yaml": pipeline(REPO, team="wbe")})

    assert where(error) == ("pipelines/web.yaml", 5, "metadata.team")
    assert error.message == "unknown team 'wbe' (did you mean 'web'?)"


def test_a_team_member_whose_email_is_no_users_is_reported(tmp_path: Path) -> None:
    members = "\n    - alice@example.com\n    - mallory@example.com"
    files = {"users.yaml": user("alice"), "teams.yaml": team("ops", members)}

    [error] = errors(tmp_path, files)

    assert str(error) == (
        "teams.yaml:8: spec.members[1]: unknown member 'mallory@example.com': "
        "no user in users.yaml has this spec.email"
    )


def test_members_match_emails_whatever_their_case(tmp_path: Path) -> None:
    files = {"users.yaml": user("alice"), "teams.yaml": team("ops", "[Alice@Example.COM]")}

    assert load_config(write(tmp_path, files), "c", schedules=CroniterSchedule).teams[
        0
    ].members == ("Alice@Example.COM",)


def test_an_unreadable_teams_file_does_not_make_every_team_unknown(tmp_path: Path) -> None:
    files = {
        "teams.yaml": "a: [\n",
        "pipelines/web.yaml": pipeline(REPO + "permissions: [{team: qa, level: read}]"),
    }

    [error] = errors(tmp_path, files)

    assert error.file == "teams.yaml"


def test_a_badly_named_team_is_reported_once_not_at_each_reference(tmp_path: Path) -> None:
    files = {
        "teams.yaml": team("QA"),
        "pipelines/web.yaml": pipeline(REPO + "permissions: [{team: ops, level: read}]", team="QA"),
    }

    found = errors(tmp_path, files)

    assert [where(e) for e in found] == [
        ("pipelines/web.yaml", 5, "metadata.team"),
        ("pipelines/web.yaml", 8, "spec.permissions[0].team"),
        ("teams.yaml", 4, "metadata.name"),
    ]


def test_every_error_of_every_file_is_reported_together_in_file_order(tmp_path: Path) -> None:
    files = {
        "config.yaml": config() + "spec:\n  retention: {logs_days: 0}\n",
        "users.yaml": user("alice").replace(HASH, "nope"),
        "teams.yaml": team("ops", "[alice@example.com, zed@example.com]") + "---\n" + team("web"),
        "pipelines/a.yaml": pipeline(REPO + "triggers:\n  - {on: cron, schedule: '* *'}"),
        "pipelines/b.yaml": pipeline("repository: x\nworker: {image: 'Bad Image'}", name="B"),
    }

    with pytest.raises(ConfigInvalidError) as caught:
        load_config(write(tmp_path, files), "deadbeef", schedules=CroniterSchedule)

    assert [where(e) for e in caught.value.errors] == [
        ("config.yaml", 6, "spec.retention.logs_days"),
        ("pipelines/a.yaml", 9, "spec.triggers[0].schedule"),
        ("pipelines/b.yaml", 4, "metadata.name"),
        ("pipelines/b.yaml", 8, "spec.worker.image"),
        ("teams.yaml", 6, "spec.members[1]"),
        ("users.yaml", 7, "spec.password_hash"),
    ]
    assert caught.value.commit == "deadbeef"
    assert str(caught.value).startswith(
        "config at deadbeef is invalid (6 errors):\n  config.yaml:6:"
    )


def test_two_users_with_one_email_are_refused(tmp_path: Path) -> None:
    second = user("bob").replace("bob@example.com", "Alice@Example.com")

    [error] = errors(tmp_path, {"users.yaml": user("alice") + "---\n" + second})

    assert where(error) == ("users.yaml", 14, "spec.email")
    assert error.message == (
        "email 'alice@example.com' is already used by another user (at users.yaml:6)"
    )


def test_a_member_listed_twice_is_reported(tmp_path: Path) -> None:
    members = "[alice@example.com, Alice@example.com]"
    files = {"users.yaml": user("alice"), "teams.yaml": team("ops", members)}

    [error] = errors(tmp_path, files)

    assert where(error) == ("teams.yaml", 6, "spec.members[1]")
    assert error.message == "'Alice@example.com' is listed twice"


def test_a_member_written_as_a_user_name_is_told_the_email_to_write(tmp_path: Path) -> None:
    files = {"users.yaml": user("alice"), "teams.yaml": team("ops", "[alice]")}

    [error] = errors(tmp_path, files)

    assert str(error) == (
        "teams.yaml:6: spec.members[0]: 'alice' is written 'alice@example.com' "
        "(members are users' e-mail addresses)"
    )
