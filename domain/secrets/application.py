"""Secret commands: set, remove (crypto-shredding), and reading by a running job."""

from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from domain.cause import Cause
from domain.eventlog import EventLog
from domain.secrets.aggregates import GLOBAL, Secret, aad, secret_id, validate_key
from domain.secrets.errors import SecretNotFoundError
from domain.secrets.ports import Vault


class SecretsService:
    def __init__(self, log: EventLog, vault: Vault) -> None:
        self._log, self._vault = log, vault

    def set(self, scope: str, key: str, value: str, cause: Cause) -> int:
        validate_key(key)
        sealed = self._vault.seal(value.encode(), aad(scope, key))
        aggregate_id = secret_id(scope, key)
        try:
            self._log.load(Secret, aggregate_id)
        except AggregateNotFoundError:
            secret = Secret._create(Secret.Created, id=aggregate_id, scope=scope, key=key)
            secret.set_value(sealed, cause.to_dict())
            try:
                return self._log.create(secret)
            except RecordConflictError:
                pass  # created concurrently: set the value on it below
        return self._log.update(
            Secret, aggregate_id, lambda s: s.set_value(sealed, cause.to_dict())
        )

    def remove(self, scope: str, key: str, cause: Cause) -> int:
        """Remove the secret and destroy every data key it ever had."""
        aggregate_id = secret_id(scope, validate_key(key))
        try:
            secret = self._log.load(Secret, aggregate_id)
        except AggregateNotFoundError:
            raise SecretNotFoundError(f"no secret {key!r} in {_describe(scope)}") from None
        if not secret.exists:
            raise SecretNotFoundError(f"no secret {key!r} in {_describe(scope)}")
        position = self._log.update(Secret, aggregate_id, lambda s: s.remove(cause.to_dict()))
        self._vault.shred(list(secret.key_ids))
        return position

    def find(self, pipeline: str, key: str) -> tuple[str, str]:
        """(scope, value) of the secret a pipeline reads under ``key``: its own first,
        else the global one. Raises ``SecretNotFoundError``."""
        validate_key(key)
        for scope in (pipeline, GLOBAL):
            try:
                secret = self._log.load(Secret, secret_id(scope, key))
            except AggregateNotFoundError:
                continue
            if secret.sealed is not None:
                value = self._vault.open(secret.sealed, aad(scope, key))
                return scope, value.decode()
        raise SecretNotFoundError(f"pipeline {pipeline!r} has no secret {key!r}")


def _describe(scope: str) -> str:
    return "the global scope" if scope == GLOBAL else f"pipeline {scope!r}"
