"""The secrets vault: envelope encryption (``adapters.crypto``) with the wrapped data
keys in the key table (``adapters.sql``); implements ``domain.secrets.ports.Vault``."""

from __future__ import annotations

import json
from collections.abc import Mapping

from adapters.crypto.envelope import open_sealed, seal
from adapters.crypto.errors import DecryptionError
from adapters.crypto.keyfile import MasterKey
from adapters.sql.keytable import SqlKeyTable
from domain.secrets.errors import SecretUnreadableError
from domain.secrets.ports import SealedValue

STEP_ENV_AAD = b"danube-step-env"


class SecretVault:
    def __init__(self, master: MasterKey, keys: SqlKeyTable) -> None:
        self._master, self._keys = master, keys

    def seal(self, plaintext: bytes, aad: bytes) -> SealedValue:
        sealed = seal(self._master, plaintext, aad)
        self._keys.put(sealed.key_id, sealed.wrapped_key)
        return SealedValue(sealed.key_id, sealed.nonce, sealed.ciphertext)

    def open(self, sealed: SealedValue, aad: bytes) -> bytes:
        wrapped = self._keys.get(sealed.key_id)
        if wrapped is None:
            raise SecretUnreadableError("its data key was destroyed (the secret was removed)")
        try:
            return open_sealed(self._master, wrapped, sealed.nonce, sealed.ciphertext, aad)
        except DecryptionError as error:
            raise SecretUnreadableError(f"it cannot be decrypted: {error}") from None

    def shred(self, key_ids: list[str]) -> None:
        self._keys.delete(key_ids)

    def seal_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """A step's environment as the event log may keep it: encrypted."""
        sealed = self.seal(json.dumps(dict(env), sort_keys=True).encode(), STEP_ENV_AAD)
        return {
            "key_id": sealed.key_id,
            "nonce": sealed.nonce.hex(),
            "ciphertext": sealed.ciphertext.hex(),
        }

    def open_env(self, sealed: Mapping[str, str] | None) -> dict[str, str]:
        if not sealed:
            return {}
        value = SealedValue(
            sealed["key_id"], bytes.fromhex(sealed["nonce"]), bytes.fromhex(sealed["ciphertext"])
        )
        env = json.loads(self.open(value, STEP_ENV_AAD))
        return {str(k): str(v) for k, v in env.items()}
