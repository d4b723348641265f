"""What is still alive, read from /proc. A zombie counts as gone: it runs nothing, and
in a container whose init does not reap, orphans stay zombies forever."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import wait_until


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (comm) state ppid pgrp ..." where comm may contain spaces and parentheses
    return text[text.rindex(")") + 2 :].split()


def is_alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def group_ends(pgid: int, timeout: float = 5.0) -> None:
    """Wait until no process of group ``pgid`` lives: SIGKILL is asynchronous, so a group
    killed a moment ago may still show members the instant the kill returned."""
    wait_until(lambda: live_members(pgid) == [], timeout=timeout, what=f"group {pgid} to end")


def live_members(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        fields = _stat_fields(int(entry)) if entry.isdigit() else None
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members
