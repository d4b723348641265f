"""Commit resolution on remotes (``adapters.git``) for cron and manual triggers."""

from __future__ import annotations

from pathlib import Path

from adapters.git import resolve_ref_name


class GitCommits:
    def __init__(
        self, ssh_key_path: str = "", known_hosts_path: str = "", timeout: float = 60
    ) -> None:
        self._key = Path(ssh_key_path) if ssh_key_path else None
        self._known_hosts = Path(known_hosts_path) if known_hosts_path else None
        self._timeout = timeout

    def resolve(self, repository: str, ref: str) -> tuple[str, str]:
        return resolve_ref_name(
            repository,
            ref,
            ssh_key_path=self._key,
            known_hosts_path=self._known_hosts,
            timeout=self._timeout,
        )
