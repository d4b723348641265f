"""Watches: chunked newline-delimited JSON events with resourceVersion semantics.

Without a resourceVersion (or "0") a watch starts with ADDED for every matching object;
with one, it replays every later change from the store's history, or answers with an
ERROR event carrying a 410 Expired Status when that version is too old. Selectors are
applied per event, turning updates that enter or leave the selection into ADDED or
DELETED, as the API server's watch cache does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .faults import FaultState, RequestInfo, WatchFault
from .objects import KINDS
from .records import RequestRecord
from .selectors import Selector
from .server import Connection, Request
from .status import bad_request, expired
from .store import Change, Store

JsonDict = dict[str, Any]


@dataclass(eq=False)
class WatchSession:
    resource: str
    namespace: str
    selector: Selector
    bookmarks: bool
    pending: deque[tuple[str, JsonDict]] = field(default_factory=deque)
    action: str | None = None  # set by a test or an armed fault: "drop", "close", "stall"
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    fault: WatchFault | None = None
    sent: int = 0
    record: RequestRecord | None = None

    def event_for(self, change: Change) -> tuple[str, JsonDict] | None:
        if change.resource != self.resource:
            return None
        if self.namespace and change.namespace != self.namespace:
            return None
        now = change.type != "DELETED" and self.selector.matches(change.obj)
        before = change.old is not None and self.selector.matches(change.old)
        if change.type == "ADDED":
            return ("ADDED", change.obj) if now else None
        if change.type == "DELETED":
            return ("DELETED", change.obj) if before else None
        if now and before:
            return "MODIFIED", change.obj
        if now:
            return "ADDED", change.obj
        if before:
            return "DELETED", change.obj
        return None

    def offer(self, change: Change) -> None:
        event = self.event_for(change)
        if event is not None:
            self.push(*event)

    def push(self, kind: str, obj: JsonDict) -> None:
        self.pending.append((kind, obj))
        self.wake.set()

    def interrupt(self, action: str) -> None:
        self.action = action
        self.wake.set()


def bookmark_object(resource: str, rv: int, initial_end: bool = False) -> JsonDict:
    meta: JsonDict = {"resourceVersion": str(rv), "creationTimestamp": None}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    obj: JsonDict = {"kind": KINDS[resource], "apiVersion": "v1", "metadata": meta}
    if resource == "pods":
        obj["spec"] = {"containers": None}
        obj["status"] = {}
    return obj


def encode_event(kind: str, obj: JsonDict) -> bytes:
    return (json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode()


class WatchHub:
    def __init__(self, store: Store, faults: FaultState) -> None:
        self.store = store
        self.faults = faults
        self.sessions: set[WatchSession] = set()

    def send_bookmarks(self) -> int:
        for session in self.sessions:
            if session.bookmarks:
                session.push("BOOKMARK", bookmark_object(session.resource, self.store.rv))
        return sum(1 for s in self.sessions if s.bookmarks)

    def interrupt_all(self, action: str, resource: str | None = None) -> int:
        targets = [s for s in self.sessions if resource is None or s.resource == resource]
        for session in targets:
            session.interrupt(action)
        return len(targets)

    def _initial(self, session: WatchSession, request: Request) -> list[tuple[str, JsonDict]]:
        rv = request.param("resourceVersion") or ""
        if rv in ("", "0") or request.param("sendInitialEvents") == "true":
            events = [
                ("ADDED", o)
                for o in self.store.list(session.resource, session.namespace or None)
                if session.selector.matches(o)
            ]
            if request.param("sendInitialEvents") == "true" and session.bookmarks:
                events.append(
                    ("BOOKMARK", bookmark_object(session.resource, self.store.rv, initial_end=True))
                )
            return events
        start = int(rv)
        if start < self.store.compacted:
            return [("ERROR", expired(rv, self.store.compacted))]
        return [e for e in (session.event_for(c) for c in self.store.since(start)) if e]

    async def serve(self, conn: Connection, request: Request, info: RequestInfo) -> bool:
        """Stream a watch; returns whether the connection may be reused."""
        selector = Selector.parse(
            info.resource, request.param("labelSelector"), request.param("fieldSelector")
        )
        rv = request.param("resourceVersion") or ""
        if rv and not rv.isdigit():
            raise bad_request(f'resourceVersion: Invalid value: "{rv}": must be a number')
        session = WatchSession(
            info.resource, info.namespace, selector, request.flag("allowWatchBookmarks")
        )
        record = request.extra.get("record")
        session.record = record if isinstance(record, RequestRecord) else None
        session.fault = self.faults.take_watch_fault(info.resource)
        if session.fault is not None and session.fault.after_events <= 0:
            session.action = session.fault.action
        # the snapshot and the subscription happen in one step of the loop: no gap
        session.pending.extend(self._initial(session, request))
        self.store.subscribe(session.offer)
        self.sessions.add(session)
        try:
            await conn.start_stream(200, {"Content-Type": "application/json"})
            return await self._stream(conn, session, request.int_param("timeoutSeconds"))
        finally:
            self.sessions.discard(session)
            self.store.unsubscribe(session.offer)

    async def _stream(
        self, conn: Connection, session: WatchSession, timeout_seconds: int | None
    ) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout_seconds is None else loop.time() + timeout_seconds
        peer_closed = asyncio.ensure_future(conn.wait_peer_closed())
        try:
            while True:
                if session.action is not None:
                    return await self._act(conn, session, peer_closed)
                if peer_closed.done():
                    return False
                if session.pending:
                    kind, obj = session.pending.popleft()
                    await self._send(conn, session, kind, obj)
                    if kind == "ERROR":
                        await conn.end_stream()
                        return True
                    continue
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                if remaining == 0.0:
                    await conn.end_stream()
                    return True
                session.wake.clear()
                waker = asyncio.ensure_future(session.wake.wait())
                await asyncio.wait(
                    {waker, peer_closed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                waker.cancel()
        finally:
            peer_closed.cancel()

    async def _send(
        self, conn: Connection, session: WatchSession, kind: str, obj: JsonDict
    ) -> None:
        await conn.send_chunk(encode_event(kind, obj))
        if session.record is not None:
            session.record.events.append({"type": kind, "object": obj})
        session.sent += 1
        fault = session.fault
        if fault is not None and session.sent >= fault.after_events and session.action is None:
            session.action = fault.action

    async def _act(
        self, conn: Connection, session: WatchSession, peer_closed: asyncio.Future[None]
    ) -> bool:
        if session.action == "close":
            await conn.end_stream()
            return True
        if session.action == "stall":  # silent until the client goes or a test acts again
            while session.action == "stall" and not peer_closed.done():
                session.wake.clear()
                waker = asyncio.ensure_future(session.wake.wait())
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({waker, peer_closed}, return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
            if peer_closed.done():
                return False
            return await self._act(conn, session, peer_closed)
        conn.drop()
        return False
