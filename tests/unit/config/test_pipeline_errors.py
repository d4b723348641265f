"""Each kind of mistake in a pipeline is reported with its file, line and field."""

from pathlib import Path

import pytest

from tests.unit.config.repo import errors, pipeline, where

FILE = "pipelines/web.yaml"
REPO = "repository: https://example.com/web.git\n"

CASES = [
    # (spec starting at line 7, line, field, message fragment)
    ("", 6, "spec.repository", "missing required field"),
    (REPO + "scirpt: x.py", 8, "spec.scirpt", "unknown field (did you mean 'script'?)"),
    (REPO + "max_duration_seconds: 0", 8, "spec.max_duration_seconds", "at least 1, got 0"),
    (REPO + "max_duration_seconds: -5", 8, "spec.max_duration_seconds", "at least 1, got -5"),
    (REPO + "max_duration_seconds: '60'", 8, "spec.max_duration_seconds",
     "expected a whole number, got a string"),
    (REPO + "workspace_size_gb: 0", 8, "spec.workspace_size_gb", "at least 1"),
    (REPO + "workspace_size_gb: 1.5", 8, "spec.workspace_size_gb", "got a number"),
    (REPO + "branch_filter: main", 8, "spec.branch_filter", "expected a list, got a string"),
    (REPO + "branch_filter: [main, 'rel/[0-9']", 8, "spec.branch_filter[1]",
     "invalid glob 'rel/[0-9': '[' at position 5 is never closed"),
    (REPO + "branch_filter: ['a]b']", 8, "spec.branch_filter[0]", "']' at position 2 closes no"),
    (REPO + "branch_filter: ['a b']", 8, "spec.branch_filter[0]", "cannot occur in a git ref"),
    (REPO + "branch_filter: [true]", 8, "spec.branch_filter[0]",
     "expected a string, got a boolean (put it in quotes)"),
    (REPO + "triggers:\n  - on: push\n    branches: ['[']", 10, "spec.triggers[0].branches[0]",
     "never closed"),
    (REPO + "triggers:\n  - on: tag\n    tags: ['v[']", 10, "spec.triggers[0].tags[0]",
     "never closed"),
    (REPO + "triggers:\n  - on: cron\n    schedule: '61 * * * *'", 10,
     "spec.triggers[0].schedule", "invalid cron expression '61 * * * *': "),
    (REPO + "triggers:\n  - on: cron\n    schedule: '* * *'", 10,
     "spec.triggers[0].schedule", "expected 5 fields"),
    # Refused by the code that runs them, not only by a syntax check: the matcher's glob
    # compiler and the scheduler's schedule class.
    (REPO + "branch_filter: ['[z-a]']", 8, "spec.branch_filter[0]",
     "invalid glob '[z-a]': bad character range z-a"),
    (REPO + "triggers:\n  - on: push\n    branches: ['rel/[9-0]*']", 10,
     "spec.triggers[0].branches[0]", "bad character range 9-0"),
    (REPO + "triggers:\n  - on: tag\n    tags: ['v[z-a]']", 10, "spec.triggers[0].tags[0]",
     "bad character range z-a"),
    (REPO + "triggers:\n  - on: cron\n    schedule: '0 0 31 2 *'", 10,
     "spec.triggers[0].schedule", "invalid cron expression '0 0 31 2 *': it never fires"),
    (REPO + "triggers:\n  - {on: cron, schedule: '0 0 30 2 *', timezone: Europe/Vienna}", 9,
     "spec.triggers[0].schedule", "never fires"),
    (REPO + "triggers:\n  - on: cron\n    schedule: '@reboot'", 10,
     "spec.triggers[0].schedule", "not a known @alias"),
    (REPO + "triggers:\n  - on: cron", 9, "spec.triggers[0].schedule", "missing required"),
    (REPO + "triggers:\n  - {on: cron, schedule: '@daily', timezone: Mars/Base}", 9,
     "spec.triggers[0].timezone", "unknown timezone 'Mars/Base'"),
    (REPO + "triggers:\n  - {on: cron, schedule: '@daily', branch: 'rel/*'}", 9,
     "spec.triggers[0].branch", "not a glob"),
    (REPO + "triggers:\n  - on: merge", 9, "spec.triggers[0].on",
     "unknown trigger kind 'merge': expected one of push, pull_request, tag, cron"),
    (REPO + "triggers:\n  - branches: [main]", 9, "spec.triggers[0].on", "missing required"),
    (REPO + "triggers:\n  - on: push\n    tags: [v1]", 10, "spec.triggers[0].tags",
     "not allowed for a push trigger"),
    (REPO + "triggers:\n  - on: push\n    schedule: '@daily'", 10,
     "spec.triggers[0].schedule", "not allowed for a push trigger"),
    (REPO + "triggers:\n  - on: tag\n    branches: [main]", 10, "spec.triggers[0].branches",
     "not allowed for a tag trigger"),
    (REPO + "triggers:\n  - push", 9, "spec.triggers[0]", "expected a mapping, got a string"),
    (REPO + "triggers:\n  - on: push\n    branchs: [main]", 10, "spec.triggers[0].branchs",
     "did you mean 'branches'?"),
    (REPO + "worker:\n  image: 'UPPER/case'", 9, "spec.worker.image",
     "invalid image reference 'UPPER/case'"),
    (REPO + "worker:\n  image: 'a b'", 9, "spec.worker.image", "invalid image reference"),
    (REPO + "worker:\n  image: ':tag'", 9, "spec.worker.image", "repository name is missing"),
    (REPO + "worker:\n  image: 'img@sha256:abc'", 9, "spec.worker.image", "digest"),
    (REPO + "worker:\n  imag: node", 9, "spec.worker.imag", "did you mean 'image'?"),
    (REPO + "worker:\n  resources:\n    requests:\n      memory: 2GB", 11,
     "spec.worker.resources.requests.memory", "invalid resource quantity '2GB'"),
    (REPO + "worker:\n  resources:\n    limits:\n      cpu: -1", 11,
     "spec.worker.resources.limits.cpu", "invalid resource quantity '-1'"),
    (REPO + "worker:\n  resources:\n    limits:\n      cpu: abc", 11,
     "spec.worker.resources.limits.cpu", "invalid resource quantity 'abc'"),
    (REPO + "worker:\n  resources:\n    limits:\n      cpu: 0", 11,
     "spec.worker.resources.limits.cpu", "must be greater than zero"),
    (REPO + "worker:\n  resources:\n    requests:\n      cpu: 4", 11,
     "spec.worker.resources.requests.cpu",
     "the request 4 is greater than the limit 2 (the default limit; set limits.cpu)"),
    (REPO + "worker:\n  resources:\n    cpu: 1", 10, "spec.worker.resources.cpu",
     "unknown field"),
    (REPO + "permissions:\n  - {team: web, level: owner}", 9, "spec.permissions[0].level",
     "unknown permission level 'owner': expected one of read, write, admin"),
    (REPO + "permissions:\n  - {team: web, level: [read]}", 9, "spec.permissions[0].level",
     "expected a string, got a list"),
    (REPO + "permissions:\n  - {team: web}", 9, "spec.permissions[0].level", "missing required"),
    (REPO + "permissions:\n  - {team: web, level: read}\n  - {team: web, level: write}", 10,
     "spec.permissions[1].team", "team 'web' is listed twice"),
    (REPO + "permissions: [web]", 8, "spec.permissions[0]", "expected a mapping, got a string"),
    (REPO + "webhook_secret_name: 'my secret'", 8, "spec.webhook_secret_name",
     "invalid secret name 'my secret'"),
    (REPO + "script: /etc/passwd", 8, "spec.script", "must be relative"),
    (REPO + "script: ../x.py", 8, "spec.script", "without '..'"),
    (REPO + "repository: again", 8, "spec.repository", "duplicate key (first at line 7)"),
    ("repository: [a]", 7, "spec.repository", "expected a string, got a list"),
    ("repository: 'a b'", 7, "spec.repository", "must not be empty or contain spaces"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "line", "field", "message"), CASES)
def test_a_mistake_in_a_pipeline_is_reported_where_it_is(
    tmp_path: Path, spec: str, line: int, field: str, message: str
) -> None:
    [error] = errors(tmp_path, {FILE: pipeline(spec)})

    assert where(error) == (FILE, line, field)
    assert message in error.message


def test_the_error_text_names_file_line_field_and_message(tmp_path: Path) -> None:
    spec = REPO + "triggers:\n  - on: push\n  - on: cron\n    schedule: '61 * * * *'"

    [error] = errors(tmp_path, {FILE: pipeline(spec)})

    assert str(error) == (
        "pipelines/web.yaml:11: spec.triggers[1].schedule: invalid cron expression "
        "'61 * * * *': [61 * * * *] is not acceptable, out of range"
    )
