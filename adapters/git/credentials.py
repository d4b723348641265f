"""``GitCredentials`` from ``config.yaml`` ``git_authentication``: the first entry whose
``match_patterns`` glob matches the normalised repository URL (``github.com/acme/api``)
gives the credentials.

- ``ssh_key``: the private key file, and the host keys pinned in ``known_hosts_path``
  (default: the config repository's pinned host keys); without pinned keys the host is
  refused rather than trusted blindly.
- ``gitlab_token``: HTTPS basic authentication ``oauth2:<token>``, as GitLab expects for
  a personal, group or project access token, the token from the named Danube secret.
- ``github_app``: an installation access token (``github_app``), as ``x-access-token``.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from adapters.git.github_app import GitHubAppError, GitHubAppTokens
from domain.config.model import GitAuthentication, GitAuthenticationType
from domain.execution.git_access import GitAccess, RepositoryAccessError
from domain.triggers.errors import InvalidRepositoryUrlError
from domain.triggers.repository_url import normalise_repository_url

SecretReader = Callable[[str], str]
"""The value of a (global) Danube secret by name; raises with a message when unreadable."""


def matching(entries: Sequence[GitAuthentication], repository: str) -> GitAuthentication | None:
    """The first entry matching a remote repository; local paths and ``file://`` URLs
    (``danube run``, the example) need no credentials, whatever ``*`` says."""
    try:
        key = normalise_repository_url(repository)
    except InvalidRepositoryUrlError:
        return None
    if key.startswith("/"):
        return None
    for entry in entries:
        if any(fnmatch.fnmatchcase(key, pattern.lower()) for pattern in entry.match_patterns):
            return entry
    return None


class ConfiguredGitCredentials:
    """``entries`` are read at each call (the config in force may change)."""

    def __init__(
        self,
        entries: Callable[[], Sequence[GitAuthentication]],
        secret: SecretReader,
        github: GitHubAppTokens,
        default_known_hosts_path: str = "",
    ) -> None:
        self._entries, self._secret, self._github = entries, secret, github
        self._known_hosts = default_known_hosts_path

    def access(self, repository: str) -> GitAccess | None:
        entry = matching(self._entries(), repository)
        if entry is None:
            return None
        key = normalise_repository_url(repository)
        base = GitAccess(entry.describe(), key)
        try:
            if entry.type is GitAuthenticationType.GITLAB_TOKEN:
                token = self._read_secret(entry.token_secret)
                return _with(base, http_username="oauth2", http_password=token)
            if entry.type is GitAuthenticationType.GITHUB_APP:
                pem = self._read_secret(entry.private_key_secret)
                token = self._github.token(entry.app_id, entry.installation_id, pem)
                return _with(base, http_username="x-access-token", http_password=token)
            return self._ssh(base, entry)
        except (GitHubAppError, _Unavailable) as error:
            raise RepositoryAccessError(base.failure(str(error))) from None

    def _read_secret(self, name: str) -> str:
        try:
            value = self._secret(name).strip()
        except Exception as error:
            raise _Unavailable(f"cannot read the secret {name!r}: {error}") from None
        if not value:
            raise _Unavailable(f"the secret {name!r} is empty")
        return value

    def _ssh(self, base: GitAccess, entry: GitAuthentication) -> GitAccess:
        known_hosts_path = entry.known_hosts_path or self._known_hosts
        if not known_hosts_path:
            raise _Unavailable(
                "no pinned host keys: set known_hosts_path, or "
                "DANUBE_CONFIG_REPO_SSH_KNOWN_HOSTS_PATH"
            )
        return _with(
            base,
            ssh_private_key=_read_file(entry.private_key_path, "private key"),
            ssh_known_hosts=_read_file(known_hosts_path, "known hosts"),
        )


class _Unavailable(Exception):
    pass


def _read_file(path: str, what: str) -> str:
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise _Unavailable(f"cannot read the {what} file {path}: {error.strerror}") from None
    if not text.strip():
        raise _Unavailable(f"the {what} file {path} is empty")
    return text if text.endswith("\n") else text + "\n"


def _with(base: GitAccess, **values: str) -> GitAccess:
    return GitAccess(base.description, base.repository, **values)


@contextmanager
def ssh_files(access: GitAccess | None) -> Iterator[tuple[Path | None, Path | None]]:
    """(private key file, known hosts file) of ``access``, written to a private temporary
    directory for as long as the block runs; ``(None, None)`` for no ssh access."""
    if access is None or not access.ssh_private_key:
        yield None, None
        return
    with tempfile.TemporaryDirectory(prefix="danube-ssh-") as directory:
        key, known_hosts = Path(directory) / "key", Path(directory) / "known_hosts"
        _write_private(key, access.ssh_private_key)
        _write_private(known_hosts, access.ssh_known_hosts)
        yield key, known_hosts


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
