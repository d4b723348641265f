"""Subscription messages sent straight from the subscription's resolver to its WebSocket.

A subscription message normally travels from the resolver's ``yield`` through
graphql-core's response stream, strawberry's stream (an extension hook and a result
object per message) and the protocol handler (a message dict, then JSON) to the socket:
for 200 followers of one run feed that framework work, per subscriber and per message,
was most of the event loop's time. Once a subscription has sent its first message the
usual way (which is how its executor becomes known here), ``Direct.sent`` executes each
further message with that executor (``SharingExecutor``: once for every subscriber
that gets the same answer), encodes the answer once (the router's memo) and sends the
frame itself: the same bytes on the wire, the same order (the resolver is resumed only
after the frame was sent), the same errors (a resolver's exception still travels the
usual way and ends the subscription as before).

Direct sending is on for subscriptions over either WebSocket protocol (the handlers
put a ``Direct`` in the operation task's context); anywhere else ``sent`` answers
False and the resolver yields as usual."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Protocol

from graphql import ExecutionResult


class _Executor(Protocol):
    def build_per_event_executor(self, payload: Any) -> Any: ...

    def is_awaitable(self, value: Any) -> bool: ...


class Direct:
    """One subscription operation's direct sender (see the module's doc)."""

    def __init__(
        self,
        operation_id: str,
        kind: str,
        send_text: Callable[[str], Awaitable[None]],
        open_: Callable[[], bool],
        encode: Callable[[dict[str, Any]], str],
        errors: Callable[[ExecutionResult], None],
    ) -> None:
        head = json.dumps({"id": operation_id, "type": kind}, separators=(",", ":"))
        self._envelope = f'{head[:-1]},"payload":'  # then the payload and "}"
        self._head = self._envelope + '{"data":'  # then the answer and "}}"
        self._send_text, self._open = send_text, open_
        self._encode, self._errors = encode, errors
        self.executor: _Executor | None = None  # the subscription's, once known

    async def sent(self, item: object) -> bool:
        """Execute and send the message for ``item``; False when it must be yielded."""
        executor = self.executor
        if executor is None:
            return False
        result = executor.build_per_event_executor(item).execute_operation(False)
        if executor.is_awaitable(result):
            result = await result
        if result.errors or result.extensions or not isinstance(result.data, dict):
            return await self._sent_whole(result)
        if not self._open():
            return True  # completed meanwhile: nothing more is sent, as strawberry does
        await self._send_text(f"{self._head}{self._encode(result.data)}}}}}")
        return True

    async def _sent_whole(self, result: ExecutionResult) -> bool:
        """A message with errors: reported and sent as strawberry would send it."""
        self._errors(result)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        if self._open():
            encoded = json.dumps(payload, separators=(",", ":"))
            await self._send_text(f"{self._envelope}{encoded}}}")
        return True


_CURRENT: ContextVar[Direct | None] = ContextVar("danube_graphql_direct", default=None)


def current() -> Direct | None:
    """The direct sender of the operation being run (None outside a WebSocket one)."""
    return _CURRENT.get()


def install(direct: Direct) -> None:
    """Make ``direct`` the current operation's (call in the operation's own task)."""
    _CURRENT.set(direct)


def executor_known(executor: _Executor) -> None:
    """Called by the executor as it builds a message's executor: the first one of a
    subscription makes it the operation's (every later message is executed with it)."""
    direct = _CURRENT.get()
    if direct is not None and direct.executor is None:
        direct.executor = executor


async def sent(item: object) -> bool:
    """``Direct.sent`` for the current operation; False when there is none."""
    direct = _CURRENT.get()
    return direct is not None and await direct.sent(item)
