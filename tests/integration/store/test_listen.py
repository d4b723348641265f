"""The LISTEN connection notices a path that goes silent without closing, and comes back
listening."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.sql.listen import PostgresListener
from tests.support import PG_URL, stop_accepting, wait_until


class BlackHoleProxy:
    """Forwards TCP connections to PostgreSQL; ``swallow()`` makes the connections open
    now drop everything in both directions while staying open (their bytes are still
    acknowledged, as a stuck middlebox does). Later connections are forwarded again."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._holes: list[threading.Event] = []
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def swallow(self) -> None:
        for hole in self._holes:
            hole.set()

    def close(self) -> None:
        stop_accepting(self._listener, self._thread)
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target)
            except OSError:
                return
            hole = threading.Event()
            self._holes.append(hole)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink, hole), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket, hole: threading.Event) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if not hole.is_set():
                sink.sendall(data)


@pytest.fixture
def proxy() -> Iterator[BlackHoleProxy]:
    params = conninfo_to_dict(PG_URL)
    opened = BlackHoleProxy(str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    yield opened
    opened.close()


def test_a_silent_listen_connection_is_replaced_within_seconds(proxy: BlackHoleProxy) -> None:
    heard: list[str | None] = []
    listener = PostgresListener(
        make_conninfo(PG_URL, host="127.0.0.1", port=proxy.port),
        {"danube_test_listen": heard.append},
        ping_interval=0.5,
        ping_timeout=1.0,
    )
    listener.start()
    try:
        wait_until(listener.connected.is_set, what="the first LISTEN connection")
        assert listener.reconnects == 1
        proxy.swallow()
        swallowed = time.monotonic()
        wait_until(lambda: listener.reconnects >= 2, timeout=10, what="a new LISTEN connection")
        assert time.monotonic() - swallowed < 5
        assert "no answer to a ping" in listener.last_error
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("SELECT pg_notify('danube_test_listen', 'after')")
        wait_until(lambda: "after" in heard, what="a NOTIFY on the new connection")
    finally:
        listener.stop()
