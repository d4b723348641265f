"""The double signals a container's process group only while that group is still the
container's: a pid (and so a group id) is reused once its process is reaped, and other
test runs share the machine."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.k8s_double.runtime import MARKER, container_marker, kill_group, spawn


async def signalled(env: dict[str, str], tmp_path: Path) -> int | None:
    proc = await spawn(["sleep", "30"], tmp_path, env)
    kill_group(proc, "pod-uid", signal.SIGTERM, "worker")
    try:
        return await asyncio.wait_for(proc.wait(), 2)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return None


def test_a_group_led_by_the_containers_process_is_signalled(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], MARKER: container_marker("pod-uid", "worker")}
    assert asyncio.run(signalled(env, tmp_path)) == -signal.SIGTERM


def test_a_group_whose_leader_is_not_the_containers_is_left_alone(tmp_path: Path) -> None:
    """As when the leader was reaped and its pid now leads someone else's group."""
    env = {"PATH": os.environ["PATH"], MARKER: container_marker("other-pod", "worker")}
    assert asyncio.run(signalled(env, tmp_path)) is None


def test_a_reaped_leaders_group_is_not_signalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append((pid, sig)))

    async def scenario() -> None:
        env = {"PATH": os.environ["PATH"], MARKER: container_marker("pod-uid", "worker")}
        proc = await spawn(["true"], tmp_path, env)
        await proc.wait()
        kill_group(proc, "pod-uid", signal.SIGKILL, "worker")

    asyncio.run(scenario())
    assert sent == []
