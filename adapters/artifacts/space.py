"""Free space on the data directory, which artifacts share with the SQLite event store:
uploads stop at a floor so a job can never fill the disk the events are written to."""

from __future__ import annotations

import shutil
from pathlib import Path


def free_bytes(path: Path) -> int:
    """Bytes free for this user on the file system holding ``path`` (or its nearest
    existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def free_space_problem(path: Path, floor: int, coming: int = 0) -> str | None:
    """Why writing ``coming`` more bytes under ``path`` would go below ``floor`` free
    bytes (``DANUBE_MIN_FREE_DISK_BYTES``), or None. For uploads and for readiness."""
    free = free_bytes(path)
    if free - coming >= floor:
        return None
    return (
        f"only {free} bytes free on the data directory {path}; "
        f"DANUBE_MIN_FREE_DISK_BYTES keeps {floor} free"
    )
