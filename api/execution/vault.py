"""The secrets vault: envelope encryption (``adapters.crypto``) with the wrapped data
keys in the key table (``adapters.sql``); implements ``domain.secrets.ports.Vault``."""

from __future__ import annotations

from adapters.crypto.envelope import open_sealed, seal
from adapters.crypto.errors import DecryptionError
from adapters.crypto.keyfile import MasterKey
from adapters.sql.keytable import SqlKeyTable
from domain.secrets.errors import SecretUnreadableError
from domain.secrets.ports import SealedValue


class SecretVault:
    def __init__(self, master: MasterKey, keys: SqlKeyTable) -> None:
        self._master, self._keys = master, keys

    def seal(self, plaintext: bytes, aad: bytes, key_id: str | None = None) -> SealedValue:
        """Encrypt under a fresh data key, stored as ``key_id`` (default: a random id)."""
        sealed = seal(self._master, plaintext, aad, key_id)
        self._keys.put(sealed.key_id, sealed.wrapped_key)
        return SealedValue(sealed.key_id, sealed.nonce, sealed.ciphertext)

    def open(self, sealed: SealedValue, aad: bytes) -> bytes:
        wrapped = self._keys.get(sealed.key_id)
        if wrapped is None:
            raise SecretUnreadableError("its data key was destroyed")
        try:
            return open_sealed(self._master, wrapped, sealed.nonce, sealed.ciphertext, aad)
        except DecryptionError as error:
            raise SecretUnreadableError(f"it cannot be decrypted: {error}") from None

    def shred(self, key_ids: list[str]) -> None:
        self._keys.delete(key_ids)

    def key_ids(self, prefix: str) -> list[str]:
        """The ids of the data keys that exist and start with ``prefix``."""
        return [key_id for key_id, _ in self._keys.all() if key_id.startswith(prefix)]
