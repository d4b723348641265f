"""Commit resolution on remotes (``adapters.git``) for cron and manual triggers, with the
repository's credentials from ``config.yaml`` ``git_authentication`` when one matches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adapters.git import GitAuthenticationError, resolve_ref_name
from adapters.git.credentials import ConfiguredGitCredentials, ssh_files
from adapters.git.github_app import GitHubAppTokens
from domain.config.application import ConfigService
from domain.config.model import GitAuthentication
from domain.execution.git_access import GitAccess, GitCredentials, RepositoryAccessError
from domain.secrets.aggregates import GLOBAL
from domain.secrets.application import SecretsService
from domain.secrets.errors import SecretNotFoundError


def git_credentials(
    config: ConfigService,
    secrets: SecretsService,
    github_api_url: str,
    known_hosts_path: str,
    redact: Callable[[str], None],
) -> GitCredentials:
    """The credentials of ``config.yaml`` ``git_authentication`` in force, with secrets
    read from the global scope; every value obtained is handed to ``redact`` first, so
    the server's own logs would hide it too."""

    def secret(name: str) -> str:
        try:
            value = secrets.find(GLOBAL, name)[1]
        except SecretNotFoundError:
            raise LookupError(f"no global secret of that name (danube secret set {name})") from None
        redact(value)
        return value

    return _configured(config, secret, github_api_url, known_hosts_path, redact)


def keyless_git_credentials(
    config: ConfigService, known_hosts_path: str, redact: Callable[[str], None]
) -> GitCredentials:
    """The credentials of a role that holds no master key (``danube scheduler``): entries
    with key files (``ssh_key``) work; an entry whose credential is a Danube secret fails
    with a message saying where such repositories are resolved."""

    def secret(name: str) -> str:
        raise LookupError(
            "the scheduler process holds no master key, so it cannot read secrets: cron "
            "triggers of this repository need the API server to run cron (start "
            "`danube server` without --no-scheduler) or an ssh_key entry"
        )

    return _configured(config, secret, "", known_hosts_path, redact)


def _configured(
    config: ConfigService,
    secret: Callable[[str], str],
    github_api_url: str,
    known_hosts_path: str,
    redact: Callable[[str], None],
) -> GitCredentials:
    def entries() -> tuple[GitAuthentication, ...]:
        current = config.current()
        return current.settings.git_authentication if current is not None else ()

    inner = ConfiguredGitCredentials(
        entries, secret, GitHubAppTokens(github_api_url), known_hosts_path
    )
    return _Redacting(inner, redact)


class _Redacting:
    def __init__(self, inner: GitCredentials, redact: Callable[[str], None]) -> None:
        self._inner, self._redact = inner, redact

    def access(self, repository: str) -> GitAccess | None:
        access = self._inner.access(repository)
        if access is not None:
            for value in (access.http_password, access.http_header, access.ssh_private_key):
                if value:
                    self._redact(value)
        return access


class GitCommits:
    def __init__(
        self,
        ssh_key_path: str = "",
        known_hosts_path: str = "",
        timeout: float = 60,
        credentials: GitCredentials | None = None,
    ) -> None:
        self._key = Path(ssh_key_path) if ssh_key_path else None
        self._known_hosts = Path(known_hosts_path) if known_hosts_path else None
        self._timeout = timeout
        self._credentials = credentials

    def resolve(self, repository: str, ref: str) -> tuple[str, str]:
        access = self._credentials.access(repository) if self._credentials else None
        if access is None:  # no git_authentication entry: the server's own ssh key, if any
            return resolve_ref_name(
                repository,
                ref,
                ssh_key_path=self._key,
                known_hosts_path=self._known_hosts,
                timeout=self._timeout,
            )
        with ssh_files(access) as (key, known_hosts):
            try:
                return resolve_ref_name(
                    repository,
                    ref,
                    ssh_key_path=key,
                    known_hosts_path=known_hosts,
                    timeout=self._timeout,
                    http_header=access.http_header,
                )
            except GitAuthenticationError as error:
                raise RepositoryAccessError(access.failure(error.detail or str(error))) from None
