"""One execution of a subscription message for every subscriber that would compute the
same one: graphql-core executes a subscription's selection set once per message per
subscriber (tens of microseconds each), which 200 followers of one run feed pay 200
times for every change.

Subscribers stay separate (their own live generator, bounded queue, resume offset,
rights re-checks and slow-client handling in ``api.app.live``); what is shared is the
work after a subscriber has been handed a message it may see:

- ``Sharing.shown`` turns one live item (a ``RunResult`` or ``LogChunk`` the live layer hands
  to every subscriber of a feed, the same object for all) into one GraphQL object;
- ``SharingExecutor`` executes a message once per (that object, document, operation,
  variables, the subscriber's visibility) and hands every such subscriber the same
  result (the router then encodes it once, ``api.graphql.router``).

A subscriber that is far behind the others may find its message's execution gone from
the memo: it executes it again (the same answer, the cost of before)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from graphql import ExecutionResult, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.graphql import direct

S = TypeVar("S")
V = TypeVar("V")

BUDGET = 8 * 1024 * 1024  # bytes of recent messages each memo holds: followers of a
# feed are spread over a few seconds of it (a log follower over at most 32 batches, 8 MB)
SMALL = 1024  # what a message without a large text is counted as


def weight(value: object) -> int:
    """Roughly what remembering ``value`` holds: its text, if it has a large one."""
    text = getattr(value, "text", None)
    return len(text) + SMALL if isinstance(text, str) else SMALL


class Recent:
    """Values made recently from source objects, by key, bounded by their total weight.
    Each entry holds its source, so an ``id()`` in a key stays that object's."""

    def __init__(self, budget: int = BUDGET) -> None:
        self._budget, self._held = budget, 0
        self._entries: OrderedDict[Hashable, tuple[object, Any, int]] = OrderedDict()

    def get(self, key: Hashable, source: object) -> Any:
        found = self._entries.get(key)
        if found is None or found[0] is not source:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, source: object, value: Any, weight: int) -> Any:
        old = self._entries.pop(key, None)
        if old is not None:
            self._held -= old[2]
        self._entries[key] = (source, value, weight)
        self._held += weight
        while self._held > self._budget and len(self._entries) > 1:
            self._held -= self._entries.popitem(last=False)[1][2]
        return value


class Sharing:
    """What the subscribers of one server share (in each connection's context, as
    ``sharing``): the objects shown for live items, and recent message executions."""

    def __init__(self, budget: int = BUDGET) -> None:
        self._shown = Recent(budget)
        self.executions = Recent(budget)

    def shown(self, item: S, make: Callable[[S], V]) -> V:
        """The GraphQL object shown for a live item, made once per item (by identity)."""
        found = self._shown.get(id(item), item)
        if found is None:
            found = self._shown.put(id(item), item, make(item), weight(item))
        return cast(V, found)


def shown(context: dict[str, Any], item: S, make: Callable[[S], V]) -> V:
    """``make(item)``, shared with other subscribers when the context has a ``Sharing``."""
    sharing = context.get("sharing")
    return sharing.shown(item, make) if isinstance(sharing, Sharing) else make(item)


class SharingExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, executing each subscription message once for all the
    subscribers that would get the same answer (see the module's doc)."""

    _shared: tuple[Sharing, tuple[Any, ...]] | None = None  # a message's memo and key
    _subscription: tuple[Any, ...] | None = None  # what decides answers, but the message

    def build_per_event_executor(self, payload: Any) -> Any:
        direct.executor_known(self)
        static = self._static_key()
        sharing = self.context_value.get("sharing") if static is not None else None
        if static is None or not isinstance(sharing, Sharing):
            return super().build_per_event_executor(payload)
        key = (id(payload), *static)
        known = sharing.executions.get(key, payload)
        if known is not None:  # answered already, for another subscriber
            return _Answered(known)
        executor = cast(SharingExecutor, super().build_per_event_executor(payload))
        executor._shared = (sharing, key)
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        if self._shared is None:
            return super().execute_operation(serially)
        sharing, key = self._shared
        result = super().execute_operation(serially)
        if self.is_awaitable(result):  # one task, awaited by each subscriber
            result = asyncio.ensure_future(cast(Awaitable[ExecutionResult], result))
        sharing.executions.put(key, self.root_value, result, weight(self.root_value))
        return _Answered(result).execute_operation(serially)

    def _static_key(self) -> tuple[Any, ...] | None:
        """What decides a subscription's answers besides the message: the document and
        operation, the variables, and who may see what (the subscriber's readable
        pipelines); None when answers cannot be told apart (no document text)."""
        if self._subscription is None:
            location, context = self.operation.loc, self.context_value
            if self.operation.operation is not OperationType.SUBSCRIPTION or location is None:
                return None
            if not isinstance(context, dict) or "principal" not in context:
                return None
            name = self.operation.name.value if self.operation.name else ""
            variables = repr(sorted(self.variable_values.coerced.items()))
            visibility = context["principal"].readable()
            self._subscription = (location.source.body, name, variables, visibility)
        return self._subscription


class _Answered:
    """A message's executor when its answer is known (or being worked out)."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def execute_operation(self, serially: bool | None = None) -> Any:
        if isinstance(self._result, asyncio.Future):
            # Shielded: a subscriber that goes away while waiting cancels only its wait.
            return asyncio.shield(self._result)
        return self._result
