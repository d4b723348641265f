"""A tiny smart-HTTP git server for tests: ``git http-backend`` behind HTTP basic auth.

``serve_git`` accepts one user name and password; ``serve_git_accepting`` asks
``accepts`` about every ``Authorization`` header, and lets ``api`` answer any request
first (e.g. a forge's API served on the same port)."""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

Api = Callable[[BaseHTTPRequestHandler], bool]  # True: it answered the request


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _handler(
    root: Path, accepts: Callable[[str], bool], api: Api | None = None, user: str = "git"
) -> type[BaseHTTPRequestHandler]:
    class GitHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def _serve(self) -> None:
            if api is not None and api(self):
                return
            if not accepts(self.headers.get("Authorization") or ""):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urlsplit(self.path)
            env = {
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": user,
                "REMOTE_ADDR": "127.0.0.1",
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            result = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=30
            )
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return GitHandler


@contextmanager
def serve_git(root: Path, user: str, password: str) -> Iterator[str]:
    """Serve the bare repositories under ``root``; yields ``http://127.0.0.1:PORT``."""
    expected = basic(user, password)
    with serve_git_accepting(root, lambda header: header == expected, user=user) as base:
        yield base


@contextmanager
def serve_git_accepting(
    root: Path, accepts: Callable[[str], bool], api: Api | None = None, user: str = "git"
) -> Iterator[str]:
    """``serve_git`` with ``accepts`` judging each Authorization header, ``api`` first."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, accepts, api, user))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
