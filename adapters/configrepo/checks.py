"""Checks of single values: each returns ``None`` when the value is fine, else a message."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable

from domain.triggers.errors import InvalidGlobError, InvalidScheduleError
from domain.triggers.globs import validate_glob
from domain.triggers.ports import ScheduleFactory

Check = Callable[[str], "str | None"]

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Kubernetes resource.Quantity, without a sign: plain, decimal SI, binary SI or exponent.
_QUANTITY = re.compile(r"(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?")
_BCRYPT = re.compile(r"\$2[abxy]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}")
_SECRET_NAME = re.compile(r"[-._a-zA-Z0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Docker reference grammar (distribution/reference).
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[_.]|__|-+){_ALNUM})*"
_REMOTE_NAME = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::\d+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
# Characters git forbids in ref names (besides the glob characters we allow).
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:\\]")


def dns_name(value: str) -> str | None:
    if len(value) > 63:
        return f"invalid name '{value}': at most 63 characters"
    if not _DNS_LABEL.fullmatch(value):
        return (
            f"invalid name '{value}': use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def quantity(value: str) -> str | None:
    match = _QUANTITY.fullmatch(value)
    if not match:
        return f"invalid resource quantity '{value}': expected e.g. '500m', '2Gi' or '1.5'"
    if not any(ch in "123456789" for ch in match.group(1)):
        return f"invalid resource quantity '{value}': must be greater than zero"
    return None


def image_reference(value: str) -> str | None:
    problem = _image_problem(value)
    return f"invalid image reference '{value}': {problem}" if problem else None


def _image_problem(value: str) -> str | None:
    name, at, digest = value.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        return "the digest must look like 'sha256:<hex>'"
    if at and digest.startswith("sha256:") and len(digest) != len("sha256:") + 64:
        return "a sha256 digest has exactly 64 hex digits"
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            return f"invalid tag '{tag}'"
    if not name:
        return "the repository name is missing"
    if len(name) > 255:
        return "the name is longer than 255 characters"
    first, slash, rest = name.partition("/")
    # As docker does: the first component is a registry only if it looks like a host.
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN.fullmatch(first):
            return f"invalid registry '{first}'"
        name = rest
    if not _REMOTE_NAME.fullmatch(name):
        return "the repository path must be lowercase letters, digits and separators (._-/)"
    return None


def cron_schedule(schedules: ScheduleFactory, timezone: str = "UTC") -> Check:
    """The check of a cron expression: building it with the schedule class the scheduler
    runs, so an expression that passes is one the scheduler can evaluate (``0 0 31 2 *``
    is well-formed but never fires, and is refused here as it would be there)."""

    def check(value: str) -> str | None:
        try:
            schedules(value, timezone)
        except InvalidScheduleError as error:
            return str(error)
        return None

    return check


def timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown timezone '{value}': use an IANA name such as 'Europe/Vienna' or 'UTC'"
    return None


def glob(value: str) -> str | None:
    if not value:
        return "a glob must not be empty"
    if bad := _BAD_REF_CHARS.search(value):
        return f"invalid glob '{value}': character {bad.group()!r} cannot occur in a git ref name"
    if ".." in value:
        return f"invalid glob '{value}': '..' cannot occur in a git ref name"
    if (problem := _bracket_problem(value)) is not None:
        return problem
    try:  # what the matcher compiles, so a glob that passes is one it can match with
        validate_glob(value)
    except InvalidGlobError as error:
        return str(error)
    return None


def _bracket_problem(value: str) -> str | None:
    i = 0
    while i < len(value):
        if value[i] == "]":
            return f"invalid glob '{value}': ']' at position {i + 1} closes no '['"
        if value[i] == "[":
            start = i
            i += 1
            if i < len(value) and value[i] == "!":
                i += 1
            if i < len(value) and value[i] == "]":  # a leading ']' is part of the set
                i += 1
            while i < len(value) and value[i] != "]":
                i += 1
            if i >= len(value):
                return f"invalid glob '{value}': '[' at position {start + 1} is never closed"
        i += 1
    return None


def bcrypt_hash(value: str) -> str | None:
    if not _BCRYPT.fullmatch(value):
        return (
            "invalid bcrypt hash: expected '$2b$<cost>$' followed by 53 characters "
            "(generate one with `htpasswd -bnBC 12 '' PASSWORD | tr -d ':\\n'`)"
        )
    return None


def secret_name(value: str) -> str | None:
    if len(value) > 253 or value in {".", ".."} or not _SECRET_NAME.fullmatch(value):
        return (
            f"invalid secret name '{value}': use letters, digits, '-', '_' and '.' "
            "(at most 253 characters)"
        )
    return None


def email(value: str) -> str | None:
    return None if _EMAIL.fullmatch(value) else f"invalid email address '{value}'"


def relative_path(value: str) -> str | None:
    parts = value.split("/")
    if value.startswith("/") or ".." in parts or not value.strip():
        return f"invalid path '{value}': must be relative to the repository, without '..'"
    return None


def repository_url(value: str) -> str | None:
    if not value.strip() or any(ch.isspace() for ch in value):
        return f"invalid repository URL '{value}': must not be empty or contain spaces"
    return None


def non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"
