"""The step scripts run by a local ``/bin/sh`` (the API double runs them the same way,
with the control directory rewritten to a local one): a timed-out step's runner leaves
nothing behind that could later signal a pid it no longer owns."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from adapters.kubernetes.scripts import STEPS_DIR, env_payload, new_end_marker, step_argv
from tests.support import wait_until


def marked(mark: str) -> list[int]:
    """Processes carrying ``MARK=mark`` in their environment (what a step started)."""
    wanted = f"MARK={mark}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as file:
                if wanted in file.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


def run_step(steps: Path, command: str, timeout: float, mark: str) -> int:
    end = new_end_marker()
    argv = step_argv("/bin/sh", 1, timeout, (0, 0), end)
    argv[2] = argv[2].replace(STEPS_DIR, str(steps))
    env = {"PATH": os.environ["PATH"], "MARK": mark}
    result = subprocess.run(
        argv, input=env_payload({}, end, command), env=env, timeout=60, check=False
    )
    return result.returncode


def test_a_step_over_its_timeout_is_ended_and_its_timer_goes_at_once(tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    assert run_step(tmp_path / "steps", "sleep 60", 1, mark) == 143
    assert (tmp_path / "steps" / "1.timeout").exists()
    assert (tmp_path / "steps" / "1.exit").read_text() == "143\n"
    # The timer used to sleep out its grace period and then signal its first sleep's pid,
    # reaped seconds earlier (maybe another process's by then).
    wait_until(lambda: not marked(mark), timeout=3, what="no process of the step to be left")


def test_a_step_that_ends_in_time_leaves_no_timer_behind(tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    assert run_step(tmp_path / "steps", "echo hi; exit 3", 60, mark) == 3
    assert not (tmp_path / "steps" / "1.timeout").exists()
    assert (tmp_path / "steps" / "1.out").read_bytes() == b"hi\n"
    wait_until(lambda: not marked(mark), timeout=3, what="no process of the step to be left")


def test_a_step_environment_may_name_variables_the_scripts_use(tmp_path: Path) -> None:
    """The environment file is sourced by the runner: names like ``s`` or ``env`` (its
    own variables) must reach the step as values, not change how it is started."""
    mark = uuid.uuid4().hex
    env = {"s": "not-setsid", "env": "not-a-file", "D": "d", "n": "n"}
    steps = tmp_path / "steps"
    end = new_end_marker()
    argv = step_argv("/bin/sh", 1, 60, (0, 0), end)
    argv[2] = argv[2].replace(STEPS_DIR, str(steps))
    result = subprocess.run(
        argv,
        input=env_payload(env, end, 'echo "$s $env $D $n"'),
        env={"PATH": os.environ["PATH"], "MARK": mark},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert (steps / "1.out").read_bytes() == b"not-setsid not-a-file d n\n"
    assert not list(steps.glob("1.env*")), "the environment file is removed"
