"""The data directory holds every job log, the webhook inbox and the master key: it is
private to the server's user (0700, files 0600) whatever the umask, and a data
directory left readable by others is made private again at start."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.bootstrap import build
from api.settings import Settings
from domain.cause import Cause


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(data_dir: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.iterdir():
        if path.is_file():
            found[path.name] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_with_umask_022_the_data_directory_and_its_files_are_private(
    tmp_path: Path, loose_umask: None
) -> None:
    data_dir = tmp_path / "data"
    danube = build(Settings(data_dir=data_dir, log_level="warning"))
    try:
        danube.secrets.set("demo", "TOKEN", "s3cr3t-value", Cause(actor="user:admin"))
    finally:
        danube.close()
    found = modes(data_dir)
    assert {"events.sqlite3", "views.sqlite3"} <= set(found), found
    assert found.pop(".") == 0o700
    assert all(mode == 0o600 for mode in found.values()), {k: oct(v) for k, v in found.items()}


def test_a_data_directory_readable_by_others_is_made_private_at_start(
    tmp_path: Path, loose_umask: None
) -> None:
    data_dir = tmp_path / "data"
    build(Settings(data_dir=data_dir, log_level="warning")).close()
    os.chmod(data_dir, 0o755)
    os.chmod(data_dir / "events.sqlite3", 0o644)
    build(Settings(data_dir=data_dir, log_level="warning")).close()
    found = modes(data_dir)
    assert (found["."], found["events.sqlite3"]) == (0o700, 0o600)
