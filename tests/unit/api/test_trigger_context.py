"""``ctx.trigger_type`` says how a run was started, ``ctx.trigger_event`` what a forge sent."""

import pytest

from api.execution.launch import trigger_context


@pytest.mark.parametrize(
    ("stored", "seen"),
    [
        ("push", ("webhook", "push")),
        ("pull_request", ("webhook", "pull_request")),
        ("tag", ("webhook", "tag")),
        ("cron", ("cron", "")),
        ("manual", ("manual", "")),
        ("api", ("manual", "")),
        ("", ("manual", "")),
    ],
)
def test_each_stored_trigger_reads_as_the_documented_ctx(
    stored: str, seen: tuple[str, str]
) -> None:
    assert trigger_context(stored) == seen
