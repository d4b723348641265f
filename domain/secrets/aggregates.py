"""A secret: one key in one scope (a pipeline's, or global), holding the ciphertext of its
current value. The value's data key lives in the vault, outside the log; removing the
secret shreds every data key it ever had, so the ciphertexts left in the append-only log
can never be decrypted again."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.secrets.errors import InvalidSecretKeyError
from domain.secrets.ports import SealedValue

GLOBAL = ""
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
_SECRETS = UUID("2c7d0f3e-95b4-4a8e-8f3a-6d1c9e0b7a25")


def secret_id(scope: str, key: str) -> UUID:
    return uuid5(_SECRETS, f"{scope}\x00{key}")


def validate_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise InvalidSecretKeyError(
            f"invalid secret key {key!r}: use letters, digits, '_', '.', '-' "
            "(starting with a letter or '_'), at most 128 characters"
        )
    return key


def aad(scope: str, key: str) -> bytes:
    """Binds a ciphertext to its place: it cannot be moved to another key or scope."""
    return f"danube-secret\x00{scope}\x00{key}".encode()


class Secret(Aggregate):
    TOPIC = "danube:Secret"

    class Created(Aggregate.Created):
        TOPIC = "danube:Secret.Created"
        scope: str
        key: str

    def __init__(self, scope: str, key: str, **_: Any) -> None:
        self.scope, self.key = scope, key
        self.sealed: SealedValue | None = None
        self.key_ids: list[str] = []

    @property
    def exists(self) -> bool:
        return self.sealed is not None

    def set_value(self, sealed: SealedValue, cause: dict[str, str]) -> None:
        self.trigger_event(
            self.ValueSet,
            key_id=sealed.key_id,
            nonce=sealed.nonce.hex(),
            ciphertext=sealed.ciphertext.hex(),
            cause=cause,
        )

    def remove(self, cause: dict[str, str]) -> bool:
        if not self.exists:
            return False
        self.trigger_event(self.Removed, cause=cause)
        return True

    class ValueSet(Aggregate.Event):
        TOPIC = "danube:Secret.ValueSet"
        key_id: str
        nonce: str
        ciphertext: str
        cause: dict[str, str]

        def apply(self, secret: Secret) -> None:
            secret.sealed = SealedValue(
                self.key_id, bytes.fromhex(self.nonce), bytes.fromhex(self.ciphertext)
            )
            secret.key_ids.append(self.key_id)

    class Removed(Aggregate.Event):
        TOPIC = "danube:Secret.Removed"
        cause: dict[str, str]

        def apply(self, secret: Secret) -> None:
            secret.sealed = None
