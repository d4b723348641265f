"""Writing config repositories into temporary directories, and reading their errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adapters.configrepo import ConfigError, ConfigInvalidError, load_config
from adapters.cron import CroniterSchedule
from domain.config.model import Config

HEADER = "apiVersion: danube.dev/v1\n"
# A well-formed bcrypt hash (of "secret", cost 4).
HASH = "$2b$04$S6ybGz8QSRqlR7Q0yQ7D6ON6ZPfqIbSoUu5bmoJ.GztCQhMrV0bmq"
# The owning team of the pipelines ``pipeline`` writes, for repositories that bring no
# teams.yaml of their own.
TEAMS = "apiVersion: danube.dev/v1\nkind: Team\nmetadata: {name: web}\nspec: {members: []}\n"


def write(root: Path, files: dict[str, str]) -> Path:
    if any(name.startswith("pipelines/") for name in files):
        files = {"teams.yaml": TEAMS, **files}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def load(root: Path, files: dict[str, str], commit: str = "c0ffee") -> Config:
    return load_config(write(root, files), commit, schedules=CroniterSchedule)


def errors(root: Path, files: dict[str, str]) -> list[ConfigError]:
    with pytest.raises(ConfigInvalidError) as caught:
        load(root, files)
    return list(caught.value.errors)


def where(error: ConfigError) -> tuple[str, int | None, str]:
    return error.file, error.line, error.field


def pipeline(spec: str, name: str = "web", team: str = "web") -> str:
    """A pipeline document owned by ``team``; ``spec`` lines start at line 7 of the file."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return f"{HEADER}kind: Pipeline\nmetadata:\n  name: {name}\n  team: {team}\nspec:\n{body}\n"
