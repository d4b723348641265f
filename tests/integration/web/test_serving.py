"""The web app at ``/``: the build's files, ``index.html`` for every other page path
(the app's router shows it), API paths never (their 404 stays JSON), caching that lets
a new release show at once, and a page that says how to build the UI when it is not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.bootstrap import build
from api.server import create_app
from api.settings import Settings
from tests.support import sign_in

INDEX = "<!doctype html><title>Danube</title><div id=root></div>"


def _client(tmp_path: Path, web_dir: Path) -> Iterator[TestClient]:
    danube = build(Settings(data_dir=tmp_path / "data", log_level="error", web_dir=web_dir))
    try:
        client = TestClient(create_app(danube))
        client.headers.update({"Authorization": f"Bearer {sign_in(str(client.base_url), danube)}"})
        yield client
    finally:
        danube.close()


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-3f9a1c.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


@pytest.fixture
def client(tmp_path: Path, built: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, built)


@pytest.mark.parametrize("path", ["/", "/pipelines", "/pipelines/demo/runs/0a1b", "/login?next=/"])
def test_every_page_path_is_the_app_and_is_revalidated(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_for_good_and_other_files_revalidated(client: TestClient) -> None:
    script = client.get("/assets/index-3f9a1c.js")
    assert script.status_code == 200
    assert script.text == "console.log('app')"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = client.get("/favicon.svg")
    assert icon.text == "<svg/>"
    assert icon.headers["cache-control"] == "no-cache"


def test_an_asset_of_an_older_build_is_a_404_not_the_page(client: TestClient) -> None:
    response = client.get("/assets/index-0ld0ld.js")
    assert response.status_code == 404
    assert INDEX not in response.text


@pytest.mark.parametrize(
    "path",
    ["/api", "/api/v1/nothing", "/graphql/nothing", "/webhooks/github/x/y", "/auth/nothing",
     "/health/nothing", "/metrics/nothing"],
)  # fmt: skip
def test_api_paths_never_fall_back_to_the_app(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Not Found"}


def test_api_routes_and_their_own_404s_are_unchanged(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/api/v1/pipelines").json() == {"pipelines": []}
    job = client.get("/api/v1/jobs/0f6b2b9e-8d3e-4a43-9a43-5a1c1e0f6b2b")
    assert job.status_code == 404
    assert "no job" in job.json()["detail"]
    assert client.post("/nothing").status_code == 404  # only GETs are pages
    assert client.post("/api/v1/pipelines").status_code == 405


def test_paths_out_of_the_build_directory_are_not_served(client: TestClient) -> None:
    response = client.get("/%2e%2e/secret.txt")
    assert "outside the build" not in response.text


def test_without_a_build_the_page_says_how_to_build_it_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="api.web.static"):
        for client in _client(tmp_path, tmp_path / "not-built"):
            response = client.get("/pipelines")
            assert client.get("/api/v1/pipelines").status_code == 200
    assert response.status_code == 503
    assert "The web UI is not built" in response.text
    assert "npm run build" in response.text
    assert "make up" in response.text
    assert any("web UI is not built" in record.getMessage() for record in caplog.records)
