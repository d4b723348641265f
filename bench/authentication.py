"""What authenticating costs a request: ``GET /auth/me`` on a real server (uvicorn on a
free 127.0.0.1 port, SQLite) with a personal API token (read from the token's events),
with a JWT of the built-in issuer (signature, claims, the user from the config), and with
the browser session cookie, against ``GET /health`` (no authentication) measured in the
same run as the baseline. Prints one JSON object as its last line.

    python bench/authentication.py          # well under two minutes
    python bench/authentication.py --full   # more requests
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.auth.users import Directory
from api.bootstrap import build
from api.processes import HttpServer
from api.server import create_app
from api.settings import load_settings
from domain.cause import Cause
from tests.support import free_port, http_get, wait_until

FULL = "--full" in sys.argv
REQUESTS = 2000 if FULL else 300


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(client: httpx.Client, url: str, headers: dict[str, str]) -> list[float]:
    for _ in range(20):  # warm up (JWKS fetched, connections open)
        assert client.get(url, headers=headers).status_code == 200
    seconds = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        seconds.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return seconds


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="danube-bench-auth-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    danube = build(load_settings(data_dir=data_dir, public_url=url, log_level="error"))
    app = create_app(danube)
    stopping = threading.Event()
    thread = threading.Thread(target=HttpServer(app, "127.0.0.1", port), args=(stopping,))
    thread.start()
    try:
        wait_until(lambda: http_get(f"{url}/health")[0] == 200, what="the server")
        token = danube.api_tokens.create("admin", "bench", "read", None, Cause("bench")).token
        admin = Directory(danube.config, data_dir).find("admin")
        assert admin is not None
        jwt = app.state.oidc_issuer.minter.tokens(admin, "danube")["id_token"]
        figures: dict[str, float] = {}
        with httpx.Client(timeout=30) as client:
            runs = {
                "health": (f"{url}/health", {}),
                "api_token": (f"{url}/auth/me", {"Authorization": f"Bearer {token}"}),
                "jwt": (f"{url}/auth/me", {"Authorization": f"Bearer {jwt}"}),
            }
            for name, (address, headers) in runs.items():
                seconds = timed(client, address, headers)
                figures[f"{name}_p50_ms"] = round(percentile(seconds, 0.5) * 1000, 3)
                figures[f"{name}_p95_ms"] = round(percentile(seconds, 0.95) * 1000, 3)
        for name in ("api_token", "jwt"):
            figures[f"{name}_p50_ratio"] = round(
                figures[f"{name}_p50_ms"] / figures["health_p50_ms"], 2
            )
    finally:
        stopping.set()
        thread.join(10)
        danube.close()
    print(json.dumps({"requests": REQUESTS, "baseline": "GET /health", **figures}))


if __name__ == "__main__":
    main()
