"""Steps run on kept threads: a server that has run many steps holds no more file
descriptors than one that has run a few (a thread per step once meant a database
connection, and its descriptors, per step for as long as the server ran)."""

from __future__ import annotations

import os

from tests.integration.execution.conftest import Embedded

STEPS = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        for number in range({steps}):
            step.run(f"echo {{number}}")
"""


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_running_many_steps_does_not_grow_the_servers_open_files(embedded: Embedded) -> None:
    _, warm = embedded.request(STEPS.format(steps=5))
    assert embedded.finished(warm).state == "success", embedded.log(warm).decode()
    before = open_descriptors()
    _, many = embedded.request(STEPS.format(steps=120))
    job = embedded.finished(many, timeout=180)
    assert job.state == "success", embedded.log(many).decode()
    assert b"119\n" in embedded.log(many)
    assert open_descriptors() - before < 40, (before, open_descriptors())
