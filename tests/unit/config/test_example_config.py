"""The config repository ``danube up`` writes next to its example is in the documented
format and validates."""

from pathlib import Path

from adapters.configrepo import load_config
from adapters.cron import CroniterSchedule
from api.commands.example import example_config_repository, example_repository
from domain.config.model import Permission, TriggerKind


def test_the_example_config_repository_validates(tmp_path: Path) -> None:
    repository = example_repository(tmp_path)

    path = example_config_repository(tmp_path, repository)
    config = load_config(path, "example", schedules=CroniterSchedule)

    [example] = config.pipelines
    assert (example.name, example.repository, example.team) == (
        "example",
        str(repository),
        "engineering",
    )
    assert [t.kind for t in example.triggers] == [TriggerKind.PUSH, TriggerKind.CRON]
    assert example.permissions == (("engineering", Permission.ADMIN),)
    assert config.teams[0].members == ("you@example.com",)
    assert (path / ".git").is_dir()
