"""The access policy, table-driven: every kind of subject against every action on a
pipeline that the config gives to teams at each level."""

from __future__ import annotations

import pytest

from domain.auth.policy import (
    NOBODY,
    SYSTEM_ACTIONS,
    Action,
    Level,
    Subject,
    decide,
    level_of,
    readable,
    subject_of,
)
from domain.config.model import Permission, Pipeline, Team

TEAMS = (
    Team("web", ("wendy@example.com", "Ada@Example.com")),
    Team("qa", ("quinn@example.com",)),
    Team("ops", ("otto@example.com",)),
    Team("platform", ("pat@example.com",), global_admin=True),
    Team("outsiders", ("olga@example.com",)),
)
WEB = Pipeline(
    "web",
    "https://example.com/web.git",
    permissions=(("web", Permission.ADMIN), ("qa", Permission.READ), ("ops", Permission.WRITE)),
    team="web",
)
OTHER = Pipeline(
    "other", "https://example.com/other.git", permissions=(("outsiders", Permission.ADMIN),)
)


def who(email: str, scope: str = "write") -> Subject:
    return subject_of(email, TEAMS, scope)  # type: ignore[arg-type]


READER, WRITER, ADMIN = who("quinn@example.com"), who("otto@example.com"), who("wendy@example.com")
GLOBAL, STRANGER = who("pat@example.com"), who("olga@example.com")
NOBODY_KNOWN = who("nobody@example.com")
ADMIN_READ_TOKEN, GLOBAL_READ_TOKEN = (
    who("wendy@example.com", "read"),
    who("pat@example.com", "read"),
)

PIPELINE_ACTIONS = [Action.READ, Action.TRIGGER, Action.CANCEL, Action.RERUN, Action.MANAGE_SECRETS]
# What each may do to "web", in the order of PIPELINE_ACTIONS.
EXPECTED = [
    ("anonymous", NOBODY, "UUUUU"),
    ("reader (qa)", READER, "YFFFF"),
    ("writer (ops)", WRITER, "YYYYF"),
    ("pipeline admin (web)", ADMIN, "YYYYY"),
    ("other team", STRANGER, "FFFFF"),
    ("in no team", NOBODY_KNOWN, "FFFFF"),
    ("global admin", GLOBAL, "YYYYY"),
    ("admin with a read token", ADMIN_READ_TOKEN, "YFFFF"),
    ("global admin with a read token", GLOBAL_READ_TOKEN, "YFFFF"),
]
OUTCOME = {"Y": "OK", "F": "FORBIDDEN", "U": "UNAUTHENTICATED"}


@pytest.mark.parametrize(("label", "subject", "expected"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_subject_may_do_what_its_level_on_the_pipeline_allows(
    label: str, subject: Subject, expected: str
) -> None:
    got = "".join(
        next(k for k, v in OUTCOME.items() if v == decide(subject, action, WEB).code)
        for action in PIPELINE_ACTIONS
    )
    assert got == expected, f"{label}: {got} for {[a.value for a in PIPELINE_ACTIONS]}"


SYSTEM_EXPECTED = [
    ("anonymous", NOBODY, "UNAUTHENTICATED"),
    ("pipeline admin (web)", ADMIN, "FORBIDDEN"),
    ("other team", STRANGER, "FORBIDDEN"),
    ("global admin", GLOBAL, "OK"),
]


@pytest.mark.parametrize("action", sorted(SYSTEM_ACTIONS))
@pytest.mark.parametrize(
    ("label", "subject", "expected"), SYSTEM_EXPECTED, ids=[e[0] for e in SYSTEM_EXPECTED]
)
def test_system_actions_are_for_global_admins_only(
    action: Action, label: str, subject: Subject, expected: str
) -> None:
    assert decide(subject, action).code == expected


def test_a_read_token_of_a_global_admin_reads_the_system_but_changes_nothing() -> None:
    assert decide(GLOBAL_READ_TOKEN, Action.READ_SYSTEM).allowed
    refused = decide(GLOBAL_READ_TOKEN, Action.DRAIN)
    assert refused.code == "FORBIDDEN" and "scope write" in refused.reason


def test_a_refusal_says_which_level_is_needed_or_that_the_token_is_read_only() -> None:
    assert decide(READER, Action.TRIGGER, WEB).reason == "trigger on pipeline 'web' needs write"
    assert "scope write" in decide(ADMIN_READ_TOKEN, Action.TRIGGER, WEB).reason


def test_a_pipeline_the_config_does_not_have_is_a_global_admins_alone() -> None:
    assert level_of(GLOBAL, None) == Level.ADMIN
    assert [level_of(s, None) for s in (READER, WRITER, ADMIN, STRANGER)] == [Level.NONE] * 4


def test_teams_are_found_by_email_whatever_its_case_and_the_best_level_wins() -> None:
    ada = who("ada@example.COM")
    assert ada.teams == {"web"} and level_of(ada, WEB) == Level.ADMIN
    both = subject_of(
        "x@example.com", (Team("qa", ("x@example.com",)), Team("ops", ("x@example.com",))), "write"
    )
    assert level_of(both, WEB) == Level.WRITE


def test_signed_in_is_enough_for_the_status_and_nobody_else_gets_it() -> None:
    assert decide(NOBODY_KNOWN, Action.READ_STATUS).allowed
    assert decide(NOBODY, Action.READ_STATUS).code == "UNAUTHENTICATED"


def test_readable_pipelines_are_those_granting_read_or_more_and_all_for_global_admins() -> None:
    assert readable(READER, (WEB, OTHER)) == {"web"}
    assert readable(STRANGER, (WEB, OTHER)) == {"other"}
    assert readable(NOBODY_KNOWN, (WEB, OTHER)) == frozenset()
    assert readable(GLOBAL, (WEB, OTHER)) is None
    assert readable(NOBODY, (WEB, OTHER)) == frozenset()
