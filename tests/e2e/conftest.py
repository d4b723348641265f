"""End-to-end fixtures: the built web app (built once if missing or stale), one browser
for the whole session, one ``danube up`` per test module. Screenshots and the browser
driver's log go to ``<pytest basetemp>/e2e`` (printed at the end of the session)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import Browser, ensure_driver
from tests.e2e.system import System, start

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def web_app() -> Path:
    """The build the server serves (``api/web/dist``), made by ``make web`` when the web
    app's sources are newer (a no-op when ``make test`` built it already)."""
    if not (REPO / "webapp" / "package.json").exists():
        pytest.skip("no web app yet (webapp/package.json)")
    subprocess.run(["make", "--no-print-directory", "web"], cwd=REPO, check=True, timeout=600)
    built = REPO / "api" / "web" / "dist"
    if not (built / "index.html").is_file():
        pytest.fail(f"the web app was not built into {built}: `make web` needs npm (Node.js 20)")
    return built


@pytest.fixture(scope="session")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e", numbered=False)


@pytest.fixture(scope="session")
def browser(web_app: Path, out: Path) -> Iterator[Browser]:
    ensure_driver()
    opened = Browser(out)
    yield opened
    opened.close()
    print(f"\ne2e screenshots: {out}")


@pytest.fixture(scope="module")
def system(web_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    started = start(tmp_path_factory.mktemp("system"))
    yield started
    started.stop()
