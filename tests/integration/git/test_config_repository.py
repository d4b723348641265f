"""The sync path end to end: fetch the config branch, export its commit, load and validate."""

from pathlib import Path

import pytest

from adapters.configrepo import ConfigInvalidError, load_config
from adapters.cron import CroniterSchedule
from adapters.git import GitRepository
from tests.integration.git.origin import Origin

PIPELINE = """apiVersion: danube.dev/v1
kind: Pipeline
metadata:
  name: web
  team: web
spec:
  repository: https://example.com/web.git
  triggers:
    - on: cron
      schedule: "{schedule}"
"""
TEAMS = "apiVersion: danube.dev/v1\nkind: Team\nmetadata: {name: web}\nspec: {members: []}\n"


def test_a_pushed_config_is_fetched_exported_and_loaded_at_its_commit(
    origin: Origin, cache: Path, tmp_path: Path
) -> None:
    good = origin.commit(
        {"teams.yaml": TEAMS, "pipelines/web.yaml": PIPELINE.format(schedule="0 * * * *")}
    )
    origin.push()
    repo = GitRepository(origin.file_url, cache)

    head = repo.fetch("main").commit
    repo.export(head, tmp_path / "good")

    config = load_config(tmp_path / "good", head, schedules=CroniterSchedule)
    assert (config.commit, [p.name for p in config.pipelines]) == (good, ["web"])


def test_a_broken_config_commit_is_rejected_with_its_file_and_line(
    origin: Origin, cache: Path, tmp_path: Path
) -> None:
    origin.commit(
        {"teams.yaml": TEAMS, "pipelines/web.yaml": PIPELINE.format(schedule="0 * * * *")}
    )
    origin.push()
    repo = GitRepository(origin.file_url, cache)
    repo.fetch("main")
    bad = origin.commit(
        {"teams.yaml": TEAMS, "pipelines/web.yaml": PIPELINE.format(schedule="61 * * * *")}
    )
    origin.push()

    result = repo.fetch("main")
    repo.export(result.commit, tmp_path / "bad")

    with pytest.raises(ConfigInvalidError) as caught:
        load_config(tmp_path / "bad", result.commit, schedules=CroniterSchedule)
    assert caught.value.commit == bad
    assert [str(e).split(": ")[0:2] for e in caught.value.errors] == [
        ["pipelines/web.yaml:10", "spec.triggers[0].schedule"]
    ]
