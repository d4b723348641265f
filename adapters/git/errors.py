"""Errors of git operations. Messages name the remote with any credentials redacted."""

from __future__ import annotations


class GitError(Exception):
    """A git operation failed. ``remote`` is redacted; ``detail`` is git's own explanation
    (the stderr line that says what went wrong), ``stderr`` all of it, also redacted."""

    def __init__(
        self, message: str, *, remote: str = "", detail: str = "", stderr: str = ""
    ) -> None:
        super().__init__(message)
        self.remote = remote
        self.detail = detail
        self.stderr = stderr


class GitAuthenticationError(GitError):
    """The remote refused our credentials, or needed some and none were configured."""


class GitUnreachableError(GitError):
    """The remote could not be reached: unknown host, refused connection, timeout, no
    repository at that address."""


class GitRefNotFoundError(GitError):
    """The remote (or the local cache) has no branch, tag or commit of that name."""
