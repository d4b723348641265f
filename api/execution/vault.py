"""The secrets vault: envelope encryption (``adapters.crypto``) with the wrapped data
keys in the key table (``adapters.sql``); implements ``domain.secrets.ports.Vault``.

Key rotation (``rotate``) re-wraps every data key under a new master key; ciphertexts in
the log are untouched. It is safe to rerun after an interruption: the new key is staged
in ``master.key.next`` first, data keys already wrapped by it are left alone, and only
then does the new key replace ``master.key``. Other processes notice: a vault given the
key file's path re-reads it when the file changes or a data key names another master
key (the staged one included, while a rotation runs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from adapters.crypto.envelope import open_sealed, rewrap, seal, wrapped_by
from adapters.crypto.errors import CryptoError, DecryptionError
from adapters.crypto.keyfile import MasterKey, generate_master_key, load_master_key
from adapters.sql.keytable import SqlKeyTable
from domain.secrets.errors import SecretUnreadableError
from domain.secrets.ports import SealedValue

STAGED_SUFFIX = ".next"


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    rewrapped: int


class SecretVault:
    def __init__(self, master: MasterKey, keys: SqlKeyTable, path: Path | None = None) -> None:
        """``path``: the master key file, re-read when it changes (another process
        rotated the key); None: this key, for good."""
        self._master, self._keys, self._path = master, keys, path
        self._mark = self._file_mark()

    @property
    def master_key_id(self) -> str:
        return self._current().key_id

    def seal(self, plaintext: bytes, aad: bytes, key_id: str | None = None) -> SealedValue:
        """Encrypt under a fresh data key, stored as ``key_id`` (default: a random id)."""
        sealed = seal(self._current(), plaintext, aad, key_id)
        self._keys.put(sealed.key_id, sealed.wrapped_key)
        return SealedValue(sealed.key_id, sealed.nonce, sealed.ciphertext)

    def open(self, sealed: SealedValue, aad: bytes) -> bytes:
        wrapped = self._keys.get(sealed.key_id)
        if wrapped is None:
            raise SecretUnreadableError("its data key was destroyed")
        try:
            master = self._master_for(wrapped_by(wrapped))
            return open_sealed(master, wrapped, sealed.nonce, sealed.ciphertext, aad)
        except DecryptionError as error:
            raise SecretUnreadableError(f"it cannot be decrypted: {error}") from None

    def shred(self, key_ids: list[str]) -> None:
        self._keys.delete(key_ids)

    def key_ids(self, prefix: str) -> list[str]:
        """The ids of the data keys that exist and start with ``prefix``."""
        return [key_id for key_id, _ in self._keys.all() if key_id.startswith(prefix)]

    def rotate(self) -> Rotation:
        """Re-wrap every data key under a new master key, which then replaces the key
        file. Raises ``CryptoError`` naming a data key that cannot be re-wrapped (it is
        left as it was; rerun once the cause is fixed)."""
        if self._path is None:
            raise CryptoError("this vault has no key file to rotate")
        old = self._current()
        staged = self._path.with_name(self._path.name + STAGED_SUFFIX)
        try:
            new = load_master_key(staged)  # an interrupted rotation: finish it
        except FileNotFoundError:
            new = generate_master_key(staged)
        count = self._rewrap_all(old, new)
        os.replace(staged, self._path)
        _fsync_directory(self._path.parent)
        self._master, self._mark = new, self._file_mark()
        count += self._rewrap_all(old, new)  # sealed by a process that had the old key
        return Rotation(old.key_id, new.key_id, count)

    def _rewrap_all(self, old: MasterKey, new: MasterKey) -> int:
        count = 0
        for key_id, wrapped in self._keys.all():
            if wrapped_by(wrapped) == new.key_id:
                continue
            try:
                self._keys.replace(key_id, rewrap(old, new, wrapped))
            except DecryptionError as error:
                raise CryptoError(f"data key {key_id} cannot be re-wrapped: {error}") from None
            count += 1
        return count

    def _current(self) -> MasterKey:
        mark = self._file_mark()
        if mark is not None and mark != self._mark and self._path is not None:
            self._master, self._mark = load_master_key(self._path), mark
        return self._master

    def _master_for(self, key_id: str) -> MasterKey:
        """The master key that wrapped a data key: ours, or one a rotation (running in
        another process, or done by it) put in place."""
        current = self._current()
        if key_id == current.key_id or self._path is None:
            return current
        staged = self._path.with_name(self._path.name + STAGED_SUFFIX)
        try:
            candidate = load_master_key(staged)
        except (OSError, CryptoError):
            return current
        return candidate if candidate.key_id == key_id else current

    def _file_mark(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            info = self._path.stat()
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
