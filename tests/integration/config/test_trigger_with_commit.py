"""A trigger that names its commit (as a webhook does) records the run without asking the
repository anything."""

from __future__ import annotations

import shutil
from uuid import UUID

from tests.integration.config.conftest import ConfigWorld
from tests.integration.config.test_manual_triggers import _status, app  # noqa: F401
from tests.integration.git.origin import Origin, git


def test_a_trigger_with_its_commit_is_recorded_without_resolving_anything(
    app: tuple[ConfigWorld, Origin, str],  # noqa: F811
) -> None:
    world, repo, url = app
    older = git("rev-parse", "HEAD~1", cwd=repo.work)
    shutil.move(repo.bare, repo.bare.with_name("moved-away"))  # nothing could resolve now
    runs = f"{url}/api/v1/pipelines/app/runs"
    status, body = _status(runs, {"ref": "refs/heads/main", "commit": older.upper()})
    assert status == 201, body
    run = world.danube.runs.get(UUID(body["run_id"]))  # type: ignore[arg-type]
    assert (run.ref, run.commit_sha, body["commit"]) == ("refs/heads/main", older, older)
    status, body = _status(runs, {"commit": older})
    assert status == 201, body
    assert body["ref"] == older
    status, body = _status(runs, {"ref": "main"})
    assert status == 400  # resolving needs the repository


def test_a_bad_commit_or_a_short_ref_with_a_commit_is_refused(
    app: tuple[ConfigWorld, Origin, str],  # noqa: F811
) -> None:
    _, repo, url = app
    runs = f"{url}/api/v1/pipelines/app/runs"
    status, body = _status(runs, {"ref": "refs/heads/main", "commit": "abc123"})
    assert status == 400 and "invalid commit 'abc123'" in body["detail"], body
    head = git("rev-parse", "HEAD", cwd=repo.work)
    status, body = _status(runs, {"ref": "main", "commit": head})
    assert status == 400 and "expected a full ref name" in body["detail"], body
