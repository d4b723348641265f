"""The npm ``graphql-ws`` client (what a browser app uses) subscribes to a live log."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.execution.conftest import Embedded
from tests.integration.graphql.test_subscriptions import SLOW, requested, whole
from tests.support import auth_headers

CLIENT = Path(__file__).resolve().parents[2] / "e2e" / "graphql-ws-client"


@pytest.fixture(scope="module")
def client() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (CLIENT / "node_modules" / "graphql-ws").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENT, check=True, timeout=300
        )
    return CLIENT


def test_the_npm_graphql_ws_client_receives_the_whole_log(
    embedded: Embedded, url: str, client: Path
) -> None:
    job_id = requested(embedded, SLOW)
    ws_url = url.replace("http://", "ws://") + "/graphql"
    done = subprocess.run(
        ["node", "subscribe.mjs", ws_url, job_id.hex, auth_headers(url)["Authorization"]],
        cwd=client,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    chunks = [json.loads(line)["data"]["logAppended"] for line in done.stdout.splitlines()]
    assert chunks[-1]["complete"] is True
    assert whole(chunks) == embedded.log(job_id).decode()
