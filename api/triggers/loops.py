"""The long-running loops on the trigger side: config sync, cron, the inbox worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.cron.croniter_schedule import CroniterSchedule
from api.bootstrap import Core, Danube
from api.config.source import GitConfigSource
from api.observability.hooks import SyncHealth
from api.processes import Supervisor
from api.settings import Settings
from domain.config.application import ConfigService, ConfigSync, SyncResult
from domain.schedules.application import CommitResolver, CronScheduler
from domain.webhooks.application import Inbox
from projections.config_view import DeliveriesView

log = logging.getLogger(__name__)

Work = Callable[[threading.Event], None]
INBOX_INTERVAL = 5.0


class ConfigSyncLoop:
    """Syncs on start (the first sync clones), then every ``config_repo_sync_interval``
    and whenever woken (a push webhook for the config repository). ``on_accepted`` is
    called after a sync that put a new config in force (and so is every callback given to
    ``when_accepted``); ``on_synced`` after every sync (the server forgets the webhook
    secrets it cached: the config names them)."""

    def __init__(
        self,
        settings: Settings,
        config: ConfigService,
        *,
        on_synced: Callable[[], None] | None = None,
        on_accepted: Callable[[], None] | None = None,
    ) -> None:
        source = GitConfigSource(
            settings.config_repo_url,
            settings.config_repo_branch,
            Path(settings.data_dir).resolve() / "cache" / "config-repo",
            settings.config_repo_ssh_key_path,
            settings.config_repo_ssh_known_hosts_path,
        )
        self.policy = ConfigSync(config, source, settings.config_repo_branch)
        self.interval = settings.config_repo_sync_interval
        self._woken = threading.Event()
        self._on_synced = on_synced
        self._on_accepted = [on_accepted] if on_accepted is not None else []
        self.health = SyncHealth(self.interval)  # metrics and readiness

    def wake(self) -> None:
        self._woken.set()

    def when_accepted(self, callback: Callable[[], None]) -> None:
        self._on_accepted.append(callback)

    def sync(self, *, allow_force_push: bool = False) -> SyncResult:
        result = self.policy.sync(allow_force_push=allow_force_push)
        self.health.observe(result.outcome)
        if result.outcome in {"accepted", "rejected", "force-pushed", "fetch-failed"}:
            log.info("config sync: %s %s %s", result.outcome, result.commit[:12], result.message)
        if self._on_synced is not None:
            self._on_synced()
        if result.outcome == "accepted":
            for callback in self._on_accepted:
                callback()
        return result

    def __call__(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            # Cleared before the sync, not after the wait: a wake that arrives while this
            # sync runs is kept, so every wake is followed by a sync that starts after it.
            self._woken.clear()
            try:
                self.sync()
            except Exception:  # keep syncing; the next round may work
                self.health.observe("error")
                log.exception("config sync failed")
            self._woken.wait(self.interval)


def cron_scheduler(
    danube: Core, commits: CommitResolver, clock: Callable[[], datetime] | None = None
) -> CronScheduler:
    """Cron over the core's stores; refs resolved by ``commits`` (with the credentials of
    ``config.yaml`` ``git_authentication`` the role can open)."""
    now = clock or (lambda: datetime.now(UTC))
    return CronScheduler(
        danube.store.log,
        danube.runs,
        danube.config,
        danube.system,
        CroniterSchedule.for_trigger,
        commits,
        now,
    )


def cron_loop(scheduler: CronScheduler, clock: Callable[[], datetime] | None = None) -> Work:
    now = clock or (lambda: datetime.now(UTC))

    def work(stopping: threading.Event) -> None:
        while not stopping.is_set():
            scheduler.tick()
            moment = now()
            stopping.wait(60.5 - moment.second - moment.microsecond / 1e6)  # next minute

    return work


class InboxWorker:
    """Processes deliveries stored but not processed: left by a crash between the reply
    and the processing, or kept while draining or before the first config (the inbox
    leaves those pending). Runs at once on start, then every ``interval`` and whenever
    woken; processing is idempotent, so racing the request path is harmless."""

    def __init__(
        self, deliveries: DeliveriesView, inbox: Inbox, interval: float = INBOX_INTERVAL
    ) -> None:
        self._deliveries, self._inbox, self._interval = deliveries, inbox, interval
        self._woken = threading.Event()
        self.rounds = 0  # completed passes over the inbox, for whoever waits on one

    def wake(self) -> None:
        self._woken.set()

    def __call__(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self._woken.clear()
            self.process_waiting()
            self.rounds += 1
            self._woken.wait(self._interval)

    def process_waiting(self) -> None:
        for row in self._deliveries.unprocessed():
            try:
                self._inbox.process(UUID(row["id"]))
            except Exception:
                log.exception("processing delivery %s failed", row["delivery_id"])


def sync_loop(
    danube: Core,
    on_synced: Callable[[], None] | None = None,
    on_accepted: Callable[[], None] | None = None,
) -> ConfigSyncLoop:
    return ConfigSyncLoop(
        danube.settings, danube.config, on_synced=on_synced, on_accepted=on_accepted
    )


def config_sync_loop(
    danube: Core, on_synced: Callable[[], None] | None = None
) -> ConfigSyncLoop | None:
    """The config sync of a process that schedules (None without a config repository).
    Built before the HTTP app, which wakes it on a push and reads its health. A process
    that caches webhook secrets (the server) forgets them after each sync (``on_synced``)."""
    return sync_loop(danube, on_synced) if danube.settings.config_repo_url else None


def start_triggers(
    danube: Danube, supervisor: Supervisor, *, scheduler: ConfigSyncLoop | bool | None = True
) -> None:
    """The inbox worker, and unless ``scheduler`` is False (``danube scheduler`` runs
    them) config sync and cron. ``scheduler`` may be the config sync loop to run (the
    one given to the HTTP app); True builds one."""
    inbox = InboxWorker(danube.deliveries, danube.inbox)
    if scheduler is not False:
        forget = danube.webhook_secrets.forget
        loop = config_sync_loop(danube, forget) if scheduler is True else scheduler
        start_scheduler(
            danube, danube.artifacts, danube.commits, supervisor, loop, on_accepted=inbox.wake
        )
    supervisor.add("inbox", inbox)
    supervisor.on_stop(inbox.wake)


def start_scheduler(
    danube: Core,
    artifacts: FilesystemArtifactStore,
    commits: CommitResolver,
    supervisor: Supervisor,
    config_sync: ConfigSyncLoop | None,
    on_accepted: Callable[[], None] | None = None,
) -> None:
    """Config sync (when a config repository is set), cron (resolving refs with
    ``commits``), and the reaper (over the core's stores and ``artifacts``) when scheduled."""
    if config_sync is not None:
        if on_accepted is not None:
            config_sync.when_accepted(on_accepted)
        supervisor.add("config-sync", config_sync)
        supervisor.on_stop(config_sync.wake)
    supervisor.add("cron", cron_loop(cron_scheduler(danube, commits)))
    if danube.settings.reaper_schedule:  # retention: a scheduled pass, once per due minute
        from api.retention import reaper_loop

        supervisor.add("reaper", reaper_loop(danube, artifacts))
