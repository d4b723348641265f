"""The metrics address of a process that runs on its own (``danube projector``,
``danube dispatcher``, ``danube pod-adapter``): ``GET /metrics`` on a port of its own,
answering 404 while ``observability.metrics_enabled`` is false."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

from api.commands.errors import EXIT_FAILED, CommandError
from api.observability.metrics import exposition, metrics_enabled

if TYPE_CHECKING:
    from api.bootstrap import Core

Start = Callable[[str, list[tuple[str, str]]], Any]


class MetricsServer:
    """Bound when built (an address in use stops start-up); serves in a supervised
    worker until the process stops."""

    def __init__(self, danube: Core, address: str) -> None:
        self.danube = danube
        host, _, port = address.rpartition(":")
        server_class: type[WSGIServer] = type(
            "MetricsWSGIServer", (ThreadingWSGIServer,), {"address_family": _family(host)}
        )
        try:
            self.httpd = make_server(
                host, int(port), self._app, server_class, handler_class=_SilentHandler
            )
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            message = f"cannot listen for metrics on {address}: {reason}"
            raise CommandError(message, EXIT_FAILED) from None
        self.port = self.httpd.server_port

    def __call__(self, stopping: threading.Event) -> None:
        threading.Thread(target=self._stop_on, args=(stopping,), daemon=True).start()
        self.httpd.serve_forever(poll_interval=0.5)
        self.httpd.server_close()

    def _stop_on(self, stopping: threading.Event) -> None:
        stopping.wait()
        self.httpd.shutdown()

    def _app(self, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: /metrics\n"]
        if not metrics_enabled(self.danube):
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"metrics are disabled (observability.metrics_enabled: false)\n"]
        body = exposition(self.danube, read_models=False)
        start("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [body]


def _family(host: str) -> socket.AddressFamily:
    return socket.getaddrinfo(host or "0.0.0.0", 0, type=socket.SOCK_STREAM)[0][0]
