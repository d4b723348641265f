"""The config repository ``danube up`` writes next to its example is in the documented
format and validates."""

from pathlib import Path

import bcrypt

from adapters.configrepo import load_config
from adapters.cron import CroniterSchedule
from api.auth.local_admin import ensure_password
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
    assert config.teams[0].members == ("admin@danube.local",) and config.teams[0].global_admin
    assert (path / ".git").is_dir()


def test_the_example_configs_admin_keeps_the_first_start_password(tmp_path: Path) -> None:
    password = ensure_password(tmp_path)
    assert password
    path = example_config_repository(tmp_path, example_repository(tmp_path))
    [admin] = load_config(path, "example", schedules=CroniterSchedule).users
    assert (admin.name, admin.email) == ("admin", "admin@danube.local")
    assert bcrypt.checkpw(password.encode(), admin.password_hash.encode())
