"""Live updates for asyncio code: the store's wakeups (in-process commits and
PostgreSQL LISTEN/NOTIFY, both announced on thread-side ``Wakeup``s) bridged to an event
loop, and bounded fan-out to subscribers.

Thread-side ``Wakeup``s are announced from the projector, the log writers and the
LISTEN thread; a subscriber in an event loop (a GraphQL subscription, an SSE stream)
must neither block that loop nor hold a thread while it waits. ``Signal`` turns any
number of wakeups into one awaitable "something moved" that coalesces bursts (a million
log appends wake a slow reader once, not a million times), and ``Fanout`` hands items
to many subscribers through bounded queues: a subscriber that falls too far behind is
told to resync (``Overflowed``) instead of growing the server's memory without limit.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from adapters.sql.wakeup import Wakeup

T = TypeVar("T")


class Signal:
    """An asyncio-side "one of these wakeups was announced". Waiters re-read what they
    follow after each wake; announcements while nobody waits are remembered (once)."""

    def __init__(self, wakeups: Sequence[Wakeup], loop: asyncio.AbstractEventLoop) -> None:
        self._wakeups = tuple(wakeups)
        self._loop = loop
        self._event = asyncio.Event()
        self._waker = _ThreadWaker(self)
        for wakeup in self._wakeups:
            wakeup.subscribe(self._waker)  # type: ignore[arg-type]  # it only calls set()

    def _announced(self) -> None:
        """Called from any thread."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        """Until an announcement since the last ``wait`` returned (bound it with
        ``asyncio.timeout``: a reader re-reads now and again anyway)."""
        await self._event.wait()
        self._event.clear()

    def close(self) -> None:
        for wakeup in self._wakeups:
            wakeup.unsubscribe(self._waker)  # type: ignore[arg-type]

    def __enter__(self) -> Signal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _ThreadWaker:
    """What a ``Wakeup`` calls ``set()`` on, from whichever thread announced."""

    def __init__(self, signal: Signal) -> None:
        self._signal = signal

    def set(self) -> None:
        self._signal._announced()


class Overflowed(Exception):
    """The subscriber fell more than its queue behind: what it missed is gone from the
    fan-out; it should resync from the store (from the last sequence or offset it saw)."""


class Subscriber(Generic[T]):
    def __init__(self, fanout: Fanout[T], maxsize: int) -> None:
        self._fanout = fanout
        self._maxsize = maxsize
        self._queued: OrderedDict[Hashable, T] = OrderedDict()
        self._numbers = itertools.count()
        self._ready = asyncio.Event()
        self.overflowed = False

    def _offer(self, item: T) -> None:
        """In the loop's thread. With the fan-out's ``key``, an item whose key is still
        queued replaces it (and moves to the end): a subscriber that is behind takes
        the latest of each, once."""
        if self.overflowed:
            return
        key = self._fanout._key(item) if self._fanout._key else next(self._numbers)
        if key in self._queued:
            del self._queued[key]
        elif len(self._queued) >= self._maxsize:
            self.overflowed = True
            self._fanout._drop(self)  # nothing more is queued for it
            return
        self._queued[key] = item
        self._ready.set()

    def take(self) -> T | None:
        """The next item if one is queued now (None: wait with ``get``), without
        suspending: a subscriber that is behind takes what is queued without arming a
        timeout for each item."""
        return self._queued.popitem(last=False)[1] if self._queued else None

    async def get(self) -> T:
        """The next item; ``Overflowed`` once everything queued before the overflow was
        taken (bound a wait with ``asyncio.timeout``)."""
        while not self._queued:
            if self.overflowed:
                raise Overflowed("the subscriber fell behind and must resync")
            self._ready.clear()
            await self._ready.wait()
        return self._queued.popitem(last=False)[1]

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            yield await self.get()

    def close(self) -> None:
        self._fanout._drop(self)


class Fanout(Generic[T]):
    """Items published from any thread, delivered to every subscriber of one event loop
    in order, each through its own bounded queue (with ``key``: the latest item of each
    key, in the order of their last publication)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        maxsize: int = 1000,
        key: Callable[[T], Hashable] | None = None,
    ) -> None:
        self._loop = loop
        self._maxsize = maxsize
        self._key = key  # items of one key: a subscriber is handed only the latest
        self._subscribers: set[Subscriber[T]] = set()
        self._lock = threading.Lock()
        self._thread: int | None = None  # the loop's thread, once known

    def _in_loop(self) -> bool:
        if self._thread is None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                return False
            if running is not self._loop:
                return False
            self._thread = threading.get_ident()
        return self._thread == threading.get_ident()

    def subscribe(self, maxsize: int | None = None) -> Subscriber[T]:
        subscriber = Subscriber(self, maxsize or self._maxsize)
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, item: T) -> None:
        """From any thread; never blocks on a subscriber. From the loop's own thread
        the item is queued for each subscriber at once (no hand-over through the loop)."""
        if self._in_loop():
            self._deliver(item)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._deliver, item)

    def _deliver(self, item: T) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber._offer(item)

    def _drop(self, subscriber: Subscriber[T]) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)
