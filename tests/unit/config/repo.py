"""Writing config repositories into temporary directories, and reading their errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adapters.configrepo import ConfigError, ConfigInvalidError, load_config
from adapters.cron import CroniterSchedule
from domain.config.model import Config

HEADER = "apiVersion: danube.dev/v1\n"


def write(root: Path, files: dict[str, str]) -> Path:
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


def pipeline(spec: str, name: str = "web") -> str:
    """A pipeline document; ``spec`` lines start at line 6 of the file."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return f"{HEADER}kind: Pipeline\nmetadata:\n  name: {name}\nspec:\n{body}\n"
