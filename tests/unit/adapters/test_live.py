"""The asyncio bridge of the store's wakeups: announcements from other threads wake
event-loop subscribers without a thread each, bursts coalesce, and a subscriber that
falls behind is told to resync instead of growing memory."""

from __future__ import annotations

import asyncio
import threading

import pytest

from adapters.sql.live import Fanout, Overflowed, Signal
from adapters.sql.wakeup import Wakeup


async def woken(signal: Signal, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            await signal.wait()
    except TimeoutError:
        return False
    return True


def test_an_announcement_from_another_thread_wakes_a_waiting_coroutine() -> None:
    async def scenario() -> bool:
        wakeup = Wakeup()
        with Signal([wakeup], asyncio.get_running_loop()) as signal:
            threading.Timer(0.05, wakeup.announce, args=(7,)).start()
            async with asyncio.timeout(5):
                await signal.wait()
            return True

    assert asyncio.run(scenario()) is True


def test_either_of_two_wakeups_wakes_and_a_burst_wakes_once() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        log, views = Wakeup(), Wakeup()
        with Signal([log, views], asyncio.get_running_loop()) as signal:
            burst = threading.Thread(target=lambda: [log.announce(n) for n in range(10_000)])
            burst.start()
            burst.join()
            first = await woken(signal, 5)
            second = await woken(signal, 0.05)  # the burst was one wake
            threading.Timer(0.02, views.announce).start()
            third = await woken(signal, 5)
            return first, second, third

    assert asyncio.run(scenario()) == (True, False, True)


def test_a_closed_signal_is_no_longer_woken() -> None:
    async def scenario() -> bool:
        wakeup = Wakeup()
        signal = Signal([wakeup], asyncio.get_running_loop())
        signal.close()
        wakeup.announce(1)
        return await woken(signal, 0.05)

    assert asyncio.run(scenario()) is False


def test_two_hundred_subscribers_hold_no_thread_and_each_gets_every_item_in_order() -> None:
    async def scenario() -> list[list[int]]:
        fanout: Fanout[int] = Fanout(asyncio.get_running_loop(), maxsize=2000)
        subscribers = [fanout.subscribe() for _ in range(200)]
        threads_before = threading.active_count()
        publisher = threading.Thread(target=lambda: [fanout.publish(n) for n in range(200)])
        publisher.start()
        publisher.join()
        received = [[await s.get() for _ in range(200)] for s in subscribers]
        assert threading.active_count() <= threads_before
        return received

    received = asyncio.run(scenario())
    assert all(items == list(range(200)) for items in received)


def test_a_slow_subscriber_is_told_to_resync_and_the_others_keep_going() -> None:
    async def scenario() -> tuple[list[int], list[int], int]:
        fanout: Fanout[int] = Fanout(asyncio.get_running_loop())
        slow = fanout.subscribe(maxsize=10)
        fast = fanout.subscribe(maxsize=100)
        got_fast: list[int] = []
        for n in range(50):
            fanout.publish(n)
            await asyncio.sleep(0)  # let it be delivered
            got_fast.append(await fast.get())
        got_slow = [await slow.get() for _ in range(10)]
        with pytest.raises(Overflowed):
            await slow.get()
        return got_fast, got_slow, fanout.subscribers

    fast, slow, remaining = asyncio.run(scenario())
    assert fast == list(range(50))
    assert slow == list(range(10))  # what it had queued before it fell behind
    assert remaining == 1  # the slow one was dropped: no memory kept for it


def test_a_subscriber_behind_gets_the_latest_item_of_each_key_once_in_publication_order() -> None:
    async def scenario() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        fanout: Fanout[tuple[str, int]] = Fanout(
            asyncio.get_running_loop(), key=lambda item: item[0]
        )
        behind, keeping_up = fanout.subscribe(maxsize=2), fanout.subscribe(maxsize=2)
        taken = []
        for item in [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]:
            fanout.publish(item)
            await asyncio.sleep(0)  # delivered
            taken.append(await keeping_up.get())
        return [await behind.get(), await behind.get()], taken

    behind, keeping_up = asyncio.run(scenario())
    assert behind == [("a", 3), ("b", 2)]  # two keys: within its queue of two, no overflow
    assert keeping_up == [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]


def test_items_published_in_the_loop_are_queued_at_once_and_taken_without_waiting() -> None:
    async def scenario() -> tuple[list[int | None], list[int]]:
        fanout: Fanout[int] = Fanout(asyncio.get_running_loop())
        first, second = fanout.subscribe(), fanout.subscribe()
        for n in range(3):
            fanout.publish(n)  # from the loop's own thread: queued before it returns
        taken = [first.take() for _ in range(4)]
        waited = [await second.get() for _ in range(3)]
        return taken, waited

    taken, waited = asyncio.run(scenario())
    assert taken == [0, 1, 2, None], "every item, in order; None once nothing is queued"
    assert waited == [0, 1, 2]
