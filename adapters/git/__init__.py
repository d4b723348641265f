"""Git through the ``git`` CLI: resolve refs on remotes, cache clones, export commits."""

from adapters.git.command import redact
from adapters.git.errors import (
    GitAuthenticationError,
    GitError,
    GitRefNotFoundError,
    GitUnreachableError,
)
from adapters.git.remote import resolve_ref, resolve_ref_name
from adapters.git.repository import FetchResult, GitRepository

__all__ = [
    "FetchResult",
    "GitAuthenticationError",
    "GitError",
    "GitRefNotFoundError",
    "GitRepository",
    "GitUnreachableError",
    "redact",
    "resolve_ref",
    "resolve_ref_name",
]
