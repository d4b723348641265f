"""Live subscribers re-check their rights every second: those that find the config
stale at the same moment share one look-up of it (in a thread) instead of each taking a
thread; a failed look-up fails only the subscriber whose it was."""

from __future__ import annotations

import asyncio
import threading

import pytest

from api.app.live import _Lookups
from api.app.principal import OPERATOR, Principal


class Config:
    """Principals as ``api.app.principal.Principals`` answers them: without I/O only
    while the config was looked up lately (here: once looked up, until made stale)."""

    def __init__(self, fails: bool = False) -> None:
        self.looked_up = 0
        self.fresh = False
        self.fails = fails
        self.release = threading.Event()

    def asker(self, io: bool) -> Principal | None:
        if not io:
            return OPERATOR if self.fresh else None
        self.release.wait(10)  # the look-up takes a while: the others arrive meanwhile
        self.looked_up += 1
        if self.fails:
            raise ConnectionError("the config store is unreachable")
        self.fresh = True
        return OPERATOR


def test_subscribers_finding_the_config_stale_together_share_one_look_up() -> None:
    config = Config()

    async def together() -> list[Principal]:
        lookups = _Lookups()
        asking = [asyncio.ensure_future(lookups.principal(config.asker)) for _ in range(50)]
        await asyncio.sleep(0)  # a yield, not a wait: every one of them has asked
        config.release.set()
        return await asyncio.gather(*asking)

    assert asyncio.run(together()) == [OPERATOR] * 50
    assert config.looked_up == 1


def test_a_failed_look_up_fails_its_own_subscriber_and_the_others_look_for_themselves() -> None:
    config = Config(fails=True)

    async def together() -> list[object]:
        lookups = _Lookups()
        asking = [asyncio.ensure_future(lookups.principal(config.asker)) for _ in range(3)]
        await asyncio.sleep(0)  # a yield: every one has asked
        config.release.set()
        return await asyncio.gather(*asking, return_exceptions=True)

    answers = asyncio.run(together())
    assert all(isinstance(answer, ConnectionError) for answer in answers)
    assert config.looked_up == 3
    with pytest.raises(ConnectionError):
        asyncio.run(_Lookups().principal(config.asker))
