"""The vault port: envelope encryption with a mutable key store beside the event log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SealedValue:
    """What the event log keeps of a secret value: never the value, never the data key."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


class Vault(Protocol):
    """Contract: ``seal`` stores a fresh data key (wrapped by the master key) under a new
    ``key_id`` and returns the ciphertext; ``open`` raises ``SecretUnreadableError`` when
    the data key is gone or anything was tampered with; ``shred`` deletes data keys so
    their ciphertexts can never be decrypted again (idempotent)."""

    def seal(self, plaintext: bytes, aad: bytes) -> SealedValue: ...

    def open(self, sealed: SealedValue, aad: bytes) -> bytes: ...

    def shred(self, key_ids: list[str]) -> None: ...
