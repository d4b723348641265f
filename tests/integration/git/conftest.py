from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.git.http_server import serve_git
from tests.integration.git.origin import Origin

USER, PASSWORD = "ci", "s3cret-token"


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return Origin(tmp_path / "remote")


@pytest.fixture
def http_base(origin: Origin) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` serving ``/origin.git`` with basic auth."""
    with serve_git(origin.bare.parent, USER, PASSWORD) as base:
        yield base


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"
