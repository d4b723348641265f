"""``Wakeup``: what followers of the log and of the read models wait on."""

from __future__ import annotations

import threading

from adapters.sql.wakeup import Wakeup


def test_a_waiter_sees_an_announcement_made_after_it_looked() -> None:
    wakeup = Wakeup()
    seen = wakeup.generation()
    wakeup.announce(5)
    assert wakeup.wait(seen, timeout=10) != seen  # returns at once, not after the timeout
    assert wakeup.position == 5
    assert wakeup.wait_for_position(5, timeout=0)


def test_one_event_hears_whichever_of_several_wakeups_moves() -> None:
    log, views = Wakeup(), Wakeup()
    moved = threading.Event()
    for wakeup in (log, views):
        wakeup.subscribe(moved)
    views.announce()
    assert moved.is_set()
    moved.clear()
    log.announce(3)
    assert moved.is_set()
    moved.clear()
    views.unsubscribe(moved)
    views.announce()
    assert not moved.is_set()
