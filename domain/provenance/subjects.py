"""Checking artifacts against the subjects of a verified statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.provenance.errors import SubjectMismatchError


def subject_digests(statement: Mapping[str, Any]) -> dict[str, str]:
    """Subject name → sha256 (lower-case hex)."""
    found = {}
    for subject in statement.get("subject") or []:
        digest = (subject.get("digest") or {}).get("sha256")
        if isinstance(subject.get("name"), str) and isinstance(digest, str):
            found[subject["name"]] = digest.lower()
    return found


def check_subjects(statement: Mapping[str, Any], artifacts: Mapping[str, str]) -> list[str]:
    """``artifacts`` maps a name to the sha256 of the bytes at hand. Every one must be a
    subject with that digest; raises ``SubjectMismatchError`` naming the first that is
    not. A name matches a subject by its full name or by its last path segment.
    Returns the names checked."""
    digests = subject_digests(statement)
    by_basename: dict[str, list[str]] = {}
    for name in digests:
        by_basename.setdefault(name.rsplit("/", 1)[-1], []).append(name)
    for name, actual in artifacts.items():
        subject = name if name in digests else _only(by_basename.get(name.rsplit("/", 1)[-1]))
        if subject is None:
            raise SubjectMismatchError(
                f"artifact {name}: not a subject of the statement "
                f"(subjects: {', '.join(sorted(digests)) or 'none'})"
            )
        if digests[subject] != actual.lower():
            raise SubjectMismatchError(
                f"artifact {name}: sha256 {actual} differs from the statement's "
                f"{digests[subject]} for {subject}: the artifact was changed"
            )
    return list(artifacts)


def _only(names: list[str] | None) -> str | None:
    return names[0] if names and len(names) == 1 else None
