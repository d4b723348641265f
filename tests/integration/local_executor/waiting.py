"""Waiting on a condition with a deadline, reporting the last state seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(observe: Callable[[], T], done: Callable[[T], bool], *, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        seen = observe()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last seen: {seen!r}")
        time.sleep(0.01)
