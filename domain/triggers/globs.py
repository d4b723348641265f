"""Branch and tag globs, compiled to regular expressions.

Git ref names are paths, so the wildcards respect ``/`` (``fnmatch`` would not):

- ``*`` matches any run of characters inside one segment (never ``/``);
- ``**`` matches across segments; as a whole segment it also matches zero segments
  (``**/fix`` matches ``fix`` and ``a/b/fix``, ``a/**/b`` matches ``a/b``);
- ``?`` matches one character other than ``/``;
- ``[abc]``, ``[a-z]`` match one character of the class, ``[!abc]``/``[^abc]`` one not in
  it (and never ``/``);
- ``\\`` escapes the next character. Everything else is literal and case-sensitive.

A glob must match the whole name: ``release/*`` matches ``release/1.0`` but neither
``release/1/hotfix`` nor ``release``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from domain.triggers.errors import InvalidGlobError


def glob_matches(pattern: str, name: str) -> bool:
    return compile_glob(pattern).fullmatch(name) is not None


def matches_any(patterns: Sequence[str], name: str) -> bool:
    """True when ``name`` matches one of ``patterns``; an empty list means "all"."""
    return not patterns or any(glob_matches(pattern, name) for pattern in patterns)


def validate_glob(pattern: str) -> None:
    """Raise :class:`InvalidGlobError` when ``pattern`` cannot be compiled."""
    compile_glob(pattern)


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise InvalidGlobError("invalid glob '': it is empty")
    try:
        return re.compile(_translate(pattern))
    except re.error as error:  # its position is in the regex, not the glob: left out
        raise InvalidGlobError(f"invalid glob '{pattern}': {error.msg}") from error


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        piece, i = _token(pattern, i)
        out.append(piece)
    return "".join(out)


def _token(pattern: str, i: int) -> tuple[str, int]:
    char = pattern[i]
    if pattern.startswith("**", i):
        return _double_star(pattern, i)
    if char == "*":
        return "[^/]*", i + 1
    if char == "?":
        return "[^/]", i + 1
    if char == "[":
        return _char_class(pattern, i)
    if char == "\\":
        if i + 1 == len(pattern):
            raise InvalidGlobError(f"invalid glob '{pattern}': it ends with a lone backslash")
        return re.escape(pattern[i + 1]), i + 2
    return re.escape(char), i + 1


def _double_star(pattern: str, i: int) -> tuple[str, int]:
    end = i + 2
    whole_segment = (i == 0 or pattern[i - 1] == "/") and pattern.startswith("/", end)
    if whole_segment:
        return "(?:.*/)?", end + 1
    return ".*", end


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    start = j
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ']' is a literal member
    close = pattern.find("]", j)
    if close == -1:
        raise InvalidGlobError(f"invalid glob '{pattern}': '[' at position {i + 1} is never closed")
    body = "".join(c if c == "-" else re.escape(c) for c in pattern[start:close])
    return (f"[^/{body}]" if negate else f"[{body}]"), close + 1
