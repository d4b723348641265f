"""A supervised PostgreSQL LISTEN connection shared by everything in one process.

The library's own subscription dies with its connection (and a half-open TCP connection
would go silent). This listener reconnects with backoff, and on every (re)connect tells
its handlers "something may have changed", because notifications sent while it was away
are lost.

A connection that goes silent without closing (a black-holed network path) is noticed
within seconds, two ways: the TCP options (``tcp_user_timeout``: data unacknowledged for
that long breaks the connection; keepalives while idle), and a ping (``SELECT 1``) every
``ping_interval`` that must be answered within ``ping_timeout``, else the socket is shut
down and the listener reconnects. The ping also catches a path where something still
acknowledges TCP but nothing answers (a stuck proxy)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

Handler = Callable[[str | None], None]

PING_INTERVAL = 5.0
PING_TIMEOUT = 5.0
# libpq options of the listening connection: connect within 5 s; unacknowledged data for
# 5 s breaks it; while idle, probe after 5 s, then every 1 s, give up after 3 probes.
TCP_OPTIONS = {
    "connect_timeout": 5,
    "tcp_user_timeout": 5000,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 1,
    "keepalives_count": 3,
}


class PostgresListener:
    def __init__(
        self,
        conninfo: str,
        handlers: Mapping[str, Handler],
        *,
        application_name: str = "danube-listen",
        ping_interval: float = PING_INTERVAL,
        ping_timeout: float = PING_TIMEOUT,
    ) -> None:
        self._conninfo = conninfo
        self._handlers = dict(handlers)
        self._application_name = application_name
        self._ping_interval, self._ping_timeout = ping_interval, ping_timeout
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.reconnects = 0
        self.last_error: str = ""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="danube-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        delay = 0.05
        while not self._stopping.is_set():
            try:
                self._listen()
                delay = 0.05
            except Exception as error:  # any failure: reconnect, never go quiet
                self.connected.clear()
                self.last_error = str(error).strip() or type(error).__name__
                log.warning("LISTEN connection lost, reconnecting: %s", self.last_error)
                self._stopping.wait(delay)
                delay = min(delay * 2, 5.0)

    def _listen(self) -> None:
        with psycopg.connect(
            self._conninfo,
            autocommit=True,
            application_name=self._application_name,
            **TCP_OPTIONS,  # type: ignore[arg-type]
        ) as conn:
            for channel in self._handlers:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.reconnects += 1
            self.connected.set()
            for handler in self._handlers.values():
                handler(None)  # catch up on whatever was missed while disconnected
            last_ping = time.monotonic()
            while not self._stopping.is_set():
                for note in conn.notifies(timeout=min(1.0, self._ping_interval)):
                    relay = self._handlers.get(note.channel)
                    if relay is not None:
                        relay(note.payload or None)
                if time.monotonic() - last_ping > self._ping_interval:
                    self._ping(conn)
                    last_ping = time.monotonic()

    def _ping(self, conn: psycopg.Connection[object]) -> None:
        """``SELECT 1`` answered within ``ping_timeout``, else the connection is broken:
        shutting its socket down (from a timer) makes the waiting query fail at once."""
        answered, gave_up = threading.Event(), threading.Event()
        fd = conn.fileno()

        def give_up() -> None:
            if not answered.is_set():
                gave_up.set()
                with contextlib.suppress(OSError):
                    broken = socket.socket(fileno=os.dup(fd))
                    broken.shutdown(socket.SHUT_RDWR)
                    broken.close()

        timer = threading.Timer(self._ping_timeout, give_up)
        timer.daemon = True
        timer.start()
        try:
            conn.execute("SELECT 1")
        except psycopg.Error:
            if gave_up.is_set():
                raise psycopg.OperationalError(
                    f"no answer to a ping within {self._ping_timeout:g}s"
                ) from None
            raise
        finally:
            answered.set()
            timer.cancel()
