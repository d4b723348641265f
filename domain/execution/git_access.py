"""Credentials for reading a pipeline's repository (``config.yaml`` ``git_authentication``).

A ``GitAccess`` carries secret values (a token, a private key) from where they are
obtained to the one git process or the one pod Secret that needs them. It is never put
in an event, a log line, a read model or an error message: its ``repr`` and every
message built from it show only which credential it is and for which repository.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class GitAccess:
    """``description`` names the credential (``github_app 'acme-app'``), ``repository``
    the normalised repository (``github.com/acme/api``). HTTPS access has a user name and
    password (``oauth2``/token for GitLab, ``x-access-token``/token for a GitHub App);
    ssh access a private key and the host keys to trust."""

    description: str
    repository: str
    http_username: str = field(default="", repr=False)
    http_password: str = field(default="", repr=False)
    ssh_private_key: str = field(default="", repr=False)
    ssh_known_hosts: str = field(default="", repr=False)

    @property
    def http_header(self) -> str:
        """The ``Authorization`` header git sends (``http.extraHeader``); empty for ssh."""
        if not self.http_password:
            return ""
        pair = f"{self.http_username}:{self.http_password}".encode()
        return f"Authorization: Basic {base64.b64encode(pair).decode()}"

    def failure(self, reason: str) -> str:
        return f"authentication to {self.repository} failed with {self.description}: {reason}"


class RepositoryAccessError(Exception):
    """The credentials for a repository could not be obtained, or were refused. The message
    names the repository and the credential (never a secret value) and says why."""


class GitCredentials(Protocol):
    """Contract: ``access(repository)`` gives the credentials of the first
    ``git_authentication`` entry whose ``match_patterns`` match the normalised repository
    URL, ``None`` when none matches (the repository is read without credentials), or
    raises ``RepositoryAccessError``. May call out (a GitHub App token exchange) and
    caches what it may."""

    def access(self, repository: str) -> GitAccess | None: ...
