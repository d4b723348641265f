"""Config commands and the sync policy: fetch, validate, record one event per change."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from domain.cause import Cause
from domain.config.aggregates import CONFIG_ID, ConfigRepository
from domain.config.codec import config_error_to_dict, config_from_dict, config_to_dict
from domain.config.model import Config, ConfigInvalidError
from domain.eventlog import EventLog

SYNC = Cause(actor="system:config-sync")


class ConfigFetchError(Exception):
    """The config repository could not be fetched (unreachable, authentication, ...)."""


@dataclass(frozen=True)
class Head:
    commit: str


class ConfigSource(Protocol):
    """The config repository as a source of commits and configs.

    Contract: ``fetch`` brings the branch head and returns its commit, raising
    ``ConfigFetchError`` with a message that names the repository (credentials redacted)
    and the reason. ``descends_from(new, old)`` tells whether ``old`` is in ``new``'s
    history (False after a force-push). ``load(commit)`` parses and validates that
    commit's files, raising ``ConfigInvalidError`` with every error."""

    def fetch(self) -> Head: ...

    def descends_from(self, new: str, old: str) -> bool: ...

    def load(self, commit: str) -> Config: ...


class ConfigService:
    def __init__(self, log: EventLog) -> None:
        self._log = log
        self._cache: tuple[int, Config | None] = (-1, None)
        self._lock = threading.Lock()

    def repository(self) -> ConfigRepository:
        try:
            return self._log.load(ConfigRepository, CONFIG_ID)
        except AggregateNotFoundError:
            return ConfigRepository._create(ConfigRepository.Created, id=CONFIG_ID)

    def current(self) -> Config | None:
        """The config in force, loaded and decoded once per change. Every delivery and
        cron tick asks, and each accepted config is a whole config in the log, so what is
        read each time is only the latest version number."""
        latest = self._log.recorder.select_events(CONFIG_ID, desc=True, limit=1)
        with self._lock:
            version, config = self._cache
            if latest and latest[0].originator_version == version:
                return config
        repo = self.repository()
        with self._lock:
            version, config = self._cache
            if version != repo.version:
                config = None if repo.config is None else config_from_dict(repo.config)
                self._cache = (repo.version, config)
            return config

    def accept(self, config: Config, cause: Cause = SYNC) -> int:
        encoded = config_to_dict(config)
        return self._update(lambda repo: repo.accept(config.commit, encoded, cause.to_dict()))

    def reject(self, error: ConfigInvalidError, cause: Cause = SYNC) -> int:
        errors = [config_error_to_dict(e) for e in error.errors]
        return self._update(lambda repo: repo.reject(error.commit, errors, cause.to_dict()))

    def fetch_failed(self, problem: str) -> int:
        return self._update(lambda repo: repo.fetch_failed(problem))

    def fetch_recovered(self) -> int:
        return self._update(lambda repo: repo.fetch_recovered())

    def _update(self, act: object) -> int:
        try:
            self._log.load(ConfigRepository, CONFIG_ID)
        except AggregateNotFoundError:
            with contextlib.suppress(RecordConflictError):  # created concurrently
                self._log.create(ConfigRepository._create(ConfigRepository.Created, id=CONFIG_ID))
        return self._log.update(ConfigRepository, CONFIG_ID, act)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SyncResult:
    outcome: str  # accepted | rejected | unchanged | fetch-failed | force-pushed
    commit: str = ""
    message: str = ""


class ConfigSync:
    """Fetch → compare → validate → record. A failing fetch or a force-pushed branch is
    recorded and leaves the config in force; a force-push is only taken when an operator
    says so (``allow_force_push``)."""

    def __init__(self, service: ConfigService, source: ConfigSource, branch: str) -> None:
        self._service, self._source, self._branch = service, source, branch
        self._lock = threading.Lock()

    def sync(self, *, allow_force_push: bool = False, cause: Cause = SYNC) -> SyncResult:
        with self._lock:
            repo = self._service.repository()
            try:
                head = self._source.fetch()
            except ConfigFetchError as error:
                self._service.fetch_failed(str(error))
                return SyncResult("fetch-failed", message=str(error))
            old = repo.accepted_commit
            if head.commit in (old, repo.rejected_commit):
                self._service.fetch_recovered()
                return SyncResult("unchanged", head.commit)
            if old and not allow_force_push and not self._source.descends_from(head.commit, old):
                problem = (
                    f"branch {self._branch} was force-pushed: {head.commit[:12]} does not "
                    f"descend from the config in force ({old[:12]}); keeping {old[:12]} "
                    "until an operator runs `danube config sync --allow-force-push`"
                )
                self._service.fetch_failed(problem)
                return SyncResult("force-pushed", head.commit, problem)
            self._service.fetch_recovered()
            try:
                config = self._source.load(head.commit)
            except ConfigInvalidError as error:
                self._service.reject(error, cause)
                return SyncResult("rejected", head.commit, str(error))
            except ConfigFetchError as error:
                self._service.fetch_failed(str(error))
                return SyncResult("fetch-failed", head.commit, str(error))
            self._service.accept(config, cause)
            return SyncResult("accepted", head.commit)
