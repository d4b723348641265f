"""Commands: each takes the principal asking, checks it once (``Access``), acts through
one domain service and returns what it recorded. The cause of every command comes from
the principal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from adapters.crypto.errors import CryptoError
from api.app.access import Access
from api.app.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
    translated,
)
from api.app.principal import Principal
from domain.auth.policy import Action
from domain.ids import RunId, new_run_id
from domain.runs.application import RunsService
from domain.secrets.aggregates import GLOBAL
from domain.secrets.application import SecretsService
from domain.system.application import SystemService
from domain.triggers.manual import ManualTriggers, TriggeredRun
from domain.webhooks.application import Inbox, Outcome
from domain.webhooks.errors import InboxDrainingError
from projections.config_view import DeliveriesView
from projections.runs_view import RunsView

MAX_REF_LENGTH = 255
MAX_SECRET_BYTES = 64 * 1024


@dataclass(frozen=True)
class SecretChanged:
    """What a secret command did (never the value: values are write-only)."""

    pipeline: str  # "" for a global secret
    key: str
    position: int


@dataclass(frozen=True)
class KeyRotated:
    old_key_id: str
    new_key_id: str
    rewrapped: int


class KeyRotator(Protocol):
    """Re-wraps every data key under a new master key (``SecretVault.rotate``)."""

    def rotate(self) -> Any: ...


@dataclass(frozen=True)
class Cancelled:
    run_id: str
    position: int


class Commands:
    def __init__(
        self,
        triggers: ManualTriggers,
        runs: RunsService,
        system: SystemService,
        views: RunsView,
        settle: Callable[[int], bool],
        access: Access,
        inbox: Inbox,
        deliveries: DeliveriesView,
        secrets: SecretsService,
        vault: KeyRotator,
    ) -> None:
        """``settle(position)`` waits (bounded) until the read models have folded the log
        up to ``position``: a command whose answer is read back waits for it first."""
        self._triggers, self._runs, self._system = triggers, runs, system
        self._views, self._settle, self._access = views, settle, access
        self._inbox, self._deliveries = inbox, deliveries
        self._secrets, self._vault = secrets, vault

    def trigger(
        self, principal: Principal, pipeline: str, ref: str, commit: str = ""
    ) -> TriggeredRun:
        self._access.authenticated(principal, "triggerRun")
        if not pipeline:
            raise InvalidInputError("pipeline must not be empty")
        self._access.require(principal, Action.TRIGGER, "triggerRun", pipeline)
        if not ref or len(ref) > MAX_REF_LENGTH:
            raise InvalidInputError(f"ref must be 1 to {MAX_REF_LENGTH} characters long")
        with translated():
            cause = principal.cause(trigger="api")
            return self._triggers.trigger(pipeline, ref, cause, "api", commit=commit)

    def cancel_run(self, principal: Principal, run_id: str) -> Cancelled:
        key = self._run_of(principal, run_id, Action.CANCEL, "cancelRun")
        with translated():
            position = self._runs.cancel_run(key, principal.cause(reason="cancel"))
        return Cancelled(key.hex, position)

    def cancel_job(self, principal: Principal, job_id: str) -> Cancelled:
        """Cancel the run the job belongs to (its jobs end together)."""
        self._access.authenticated(principal, "cancelJob")
        try:
            key = UUID(job_id)
        except ValueError:
            raise InvalidInputError(f"invalid job id {job_id!r}: expected a UUID") from None
        job = self._views.job(key)
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        return self.cancel_run(principal, job.run_id)

    def rerun(self, principal: Principal, run_id: str, only_failed: bool) -> str:
        """A new run of what ``run_id`` ran, recording the run it retries; with
        ``only_failed``, its jobs that succeeded are reused. Returns the new run's id."""
        key = self._run_of(principal, run_id, Action.RERUN, "rerun")
        new = new_run_id()
        with translated():
            position = self._runs.rerun(
                key, new, principal.cause(trigger="rerun"), only_failed=only_failed
            )
        self._settle(position)
        return new.hex

    def drain(self, principal: Principal) -> int:
        self._access.require(principal, Action.DRAIN, "drain")
        return self._system.start_draining(principal.cause(reason="drain"))

    def undrain(self, principal: Principal) -> int:
        self._access.require(principal, Action.DRAIN, "undrain")
        return self._system.stop_draining(principal.cause(reason="undrain"))

    def replay_delivery(self, principal: Principal, delivery_id: str) -> Outcome:
        """Process a stored webhook delivery again with the config in force now."""
        self._access.require(principal, Action.REPLAY_DELIVERY, "replayDelivery")
        try:
            key = UUID(delivery_id)
        except ValueError:
            message = f"invalid delivery id {delivery_id!r}: expected a UUID"
            raise InvalidInputError(message) from None
        if self._deliveries.get(key.hex) is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        try:
            return self._inbox.replay(key, principal.cause(reason="replay"))
        except InboxDrainingError as error:
            raise UnavailableError(str(error)) from None

    def set_secret(
        self, principal: Principal, pipeline: str, key: str, value: str
    ) -> SecretChanged:
        """Set a secret of ``pipeline`` (its admins) or a global one (``pipeline`` "":
        global admins). The value is sealed at once and never returned."""
        self._may_manage_secrets(principal, pipeline, "setSecret")
        if not value:
            raise InvalidInputError("a secret's value must not be empty")
        if len(value.encode()) > MAX_SECRET_BYTES:
            raise InvalidInputError(f"a secret's value is at most {MAX_SECRET_BYTES} bytes")
        with translated():
            position = self._secrets.set(pipeline or GLOBAL, key, value, principal.cause())
        return SecretChanged(pipeline, key, position)

    def remove_secret(self, principal: Principal, pipeline: str, key: str) -> SecretChanged:
        """Remove a secret and destroy its data keys: its old values, still in the log
        as ciphertext, can never be decrypted again."""
        self._may_manage_secrets(principal, pipeline, "removeSecret")
        with translated():
            position = self._secrets.remove(pipeline or GLOBAL, key, principal.cause())
        return SecretChanged(pipeline, key, position)

    def rotate_secrets_key(self, principal: Principal) -> KeyRotated:
        """Re-wrap every data key under a new master key (global admins)."""
        self._access.require(principal, Action.ROTATE_SECRETS_KEY, "rotateSecretsKey")
        try:
            done = self._vault.rotate()
        except CryptoError as error:
            raise ConflictError(f"the master key was not rotated: {error}") from None
        self._system.record_key_rotation(done.new_key_id, done.rewrapped, principal.cause())
        return KeyRotated(done.old_key_id, done.new_key_id, done.rewrapped)

    def _may_manage_secrets(self, principal: Principal, pipeline: str, operation: str) -> None:
        self._access.authenticated(principal, operation)
        if pipeline:
            self._access.require(principal, Action.MANAGE_SECRETS, operation, pipeline)
        else:
            self._access.require(principal, Action.MANAGE_GLOBAL_SECRETS, operation)

    def _run_of(self, principal: Principal, run_id: str, action: Action, operation: str) -> RunId:
        """The run's id once ``principal`` may do ``action`` to its pipeline."""
        self._access.authenticated(principal, operation)
        try:
            key = RunId(UUID(run_id))
        except ValueError:
            raise InvalidInputError(f"invalid run id {run_id!r}: expected a UUID") from None
        view = self._views.run(key)
        if view is not None:
            pipeline = view.pipeline
        else:  # requested a moment ago, not folded yet: the log knows
            with translated():
                pipeline = self._runs.get(key).pipeline
        self._access.require(principal, action, operation, pipeline)
        return key
