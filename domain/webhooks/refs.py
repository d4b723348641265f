"""What a delivery may name as a ref or a commit: what git itself accepts, so a run is
never started that can only fail at checkout."""

from __future__ import annotations

import re

_SHA = re.compile(r"[0-9a-f]{40}")
# ASCII control characters, space, and ~ ^ : ? * [ \ (git check-ref-format, rules 4-5, 10)
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def is_commit_sha(value: str) -> bool:
    """A full SHA-1 commit id: 40 lowercase hex digits."""
    return _SHA.fullmatch(value) is not None


def ref_name_problem(ref: str) -> str | None:
    """Why ``ref`` is not a valid git ref name (``git check-ref-format`` rules, and no
    component starting with ``-``, which git refuses as a branch name), or None."""
    if not ref or ref == "@":
        return "is empty or '@'"
    if _FORBIDDEN.search(ref):
        return "has a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in ref or "@{" in ref:
        return "has '..' or '@{'"
    if ref.startswith("/") or ref.endswith("/") or "//" in ref or ref.endswith("."):
        return "starts or ends with '/', has '//' or ends with '.'"
    for component in ref.split("/"):
        if component.startswith((".", "-")) or component.endswith(".lock"):
            return "has a part starting with '.' or '-' or ending with '.lock'"
    return None
