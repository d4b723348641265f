"""The config repository read through git (``adapters.git``) and validated
(``adapters.configrepo``, with the cron schedules of ``adapters.cron`` that the scheduler
runs): the ``ConfigSource`` port."""

from __future__ import annotations

import tempfile
from pathlib import Path

from adapters.configrepo import load_config
from adapters.cron import CroniterSchedule
from adapters.git import GitError, GitRepository
from domain.config.application import ConfigFetchError, Head
from domain.config.model import Config


def load_directory(directory: Path, commit: str) -> Config:
    """The config in a checked-out config repository, validated as the sync validates it;
    raises ``ConfigInvalidError`` with every error."""
    return load_config(directory, commit, schedules=CroniterSchedule)


class GitConfigSource:
    def __init__(
        self,
        url: str,
        branch: str,
        cache_root: Path,
        ssh_key_path: str = "",
        known_hosts_path: str = "",
        timeout: float = 120,
    ) -> None:
        self._branch = branch
        self._repository = GitRepository(
            url,
            cache_root,
            ssh_key_path=Path(ssh_key_path) if ssh_key_path else None,
            known_hosts_path=Path(known_hosts_path) if known_hosts_path else None,
            timeout=timeout,
        )

    def fetch(self) -> Head:
        try:
            return Head(commit=self._repository.fetch(self._branch).commit)
        except GitError as error:
            raise ConfigFetchError(str(error)) from None

    def descends_from(self, new: str, old: str) -> bool:
        try:
            return self._repository.is_ancestor(old, new)
        except GitError:
            return False  # the old commit is gone from the history: a force-push

    def load(self, commit: str) -> Config:
        with tempfile.TemporaryDirectory(prefix="danube-config-") as directory:
            try:
                self._repository.export(commit, Path(directory) / "tree")
            except GitError as error:
                raise ConfigFetchError(str(error)) from None
            return load_directory(Path(directory) / "tree", commit)
