"""Removing a job's workspace, whatever its steps left in it (read-only directories
included)."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything below it; a file that cannot be removed even after
    making its directory writable (e.g. owned by another user) is logged and left."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if path.exists():
        shutil.rmtree(path, onerror=_make_writable_and_retry)


def _make_writable_and_retry(_func: Callable[..., Any], target: str, _exc: Any) -> None:
    try:
        os.chmod(os.path.dirname(target), stat.S_IRWXU)
        if os.path.isdir(target) and not os.path.islink(target):
            os.chmod(target, stat.S_IRWXU)
            shutil.rmtree(target, onerror=_give_up)
        else:
            os.unlink(target)
    except FileNotFoundError:
        pass
    except OSError as error:
        _give_up(os.unlink, target, error)


def _give_up(_func: Callable[..., Any], target: str, exc: Any) -> None:
    error = exc[1] if isinstance(exc, tuple) else exc
    log.warning("could not remove %s from a workspace: %s", target, error)
