"""A supervised PostgreSQL LISTEN connection shared by everything in one process.

The library's own subscription dies with its connection (and a half-open TCP connection
would go silent). This listener reconnects with backoff, pings its connection so a dead
peer is noticed, and on every (re)connect tells its handlers "something may have
changed", because notifications sent while it was away are lost."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

Handler = Callable[[str | None], None]

PING_INTERVAL = 5.0


class PostgresListener:
    def __init__(self, conninfo: str, handlers: Mapping[str, Handler]) -> None:
        self._conninfo = conninfo
        self._handlers = dict(handlers)
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
                self.last_error = str(error).strip()
                log.warning("LISTEN connection lost, reconnecting: %s", self.last_error)
                self._stopping.wait(delay)
                delay = min(delay * 2, 5.0)

    def _listen(self) -> None:
        with psycopg.connect(
            self._conninfo,
            autocommit=True,
            application_name="danube-listen",
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        ) as conn:
            for channel in self._handlers:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.reconnects += 1
            self.connected.set()
            for handler in self._handlers.values():
                handler(None)  # catch up on whatever was missed while disconnected
            last_ping = time.monotonic()
            while not self._stopping.is_set():
                for note in conn.notifies(timeout=1.0):
                    relay = self._handlers.get(note.channel)
                    if relay is not None:
                        relay(note.payload or None)
                if time.monotonic() - last_ping > PING_INTERVAL:
                    conn.execute("SELECT 1")
                    last_ping = time.monotonic()
