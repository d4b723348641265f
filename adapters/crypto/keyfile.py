"""The master key: 32 random bytes in a file only its owner may read (mode 0600).

The file is raw bytes. It is created race-free: written to a fresh temporary file opened
with ``O_CREAT | O_EXCL`` and mode 0600, then hard-linked to its name, so another process
starting at the same moment either wins the link or reads the complete key — never a
half-written one."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.crypto.errors import InsecureKeyFileError, InvalidKeyFileError, KeyFileExistsError

KEY_SIZE = 32


class MasterKey:
    """The key itself never appears in ``repr``, ``str`` or a pickle; ``key_id`` (a
    fingerprint: 16 hex digits of a SHA-256 of the key) names it in messages."""

    __slots__ = ("_key", "key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"a master key is {KEY_SIZE} bytes, not {len(key)}")
        self._key = bytes(key)
        self.key_id = hashlib.sha256(b"danube master key\x00" + self._key).hexdigest()[:16]

    def aead(self) -> AESGCM:
        return AESGCM(self._key)

    def derive(self, purpose: bytes, length: int = 32) -> bytes:
        """A separate key for another purpose (HKDF-SHA256), e.g. signing job tokens."""
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(
            self._key
        )

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self.key_id)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a master key is not serialisable")


def load_or_create_master_key(path: Path) -> MasterKey:
    """The key in ``path``, created (0600) if the file does not exist yet."""
    try:
        return load_master_key(path)
    except FileNotFoundError:
        pass
    try:
        return _create(path, MasterKey(secrets.token_bytes(KEY_SIZE)))
    except FileExistsError:  # another process created it a moment ago
        return load_master_key(path)


def generate_master_key(path: Path, force: bool = False) -> MasterKey:
    """A new key in ``path``. Refuses to overwrite an existing file unless ``force``:
    every secret sealed under the old key becomes unreadable unless re-wrapped first."""
    key = MasterKey(secrets.token_bytes(KEY_SIZE))
    if force:
        temp = _write_temp(path, key)
        os.replace(temp, path)
        _fsync_directory(path.parent)
        return key
    try:
        return _create(path, key)
    except FileExistsError:
        raise KeyFileExistsError(
            f"{path} already exists; replacing it makes every secret sealed under it "
            "unreadable (use force to replace it anyway)"
        ) from None


def load_master_key(path: Path) -> MasterKey:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidKeyFileError(f"{path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise InsecureKeyFileError(
                f"{path} has mode {mode:04o}: group or others may access the master key; "
                f"it must be readable by its owner only (chmod 600 {path})"
            )
        key = _read_all(fd, KEY_SIZE + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_SIZE:
        raise InvalidKeyFileError(
            f"{path} holds {len(key)}{'+' if len(key) > KEY_SIZE else ''} bytes; "
            f"a master key file holds exactly {KEY_SIZE} random bytes"
        )
    return MasterKey(key)


def _create(path: Path, key: MasterKey) -> MasterKey:
    """Publish ``key`` at ``path``; FileExistsError if there is a file already."""
    temp = _write_temp(path, key)
    try:
        os.link(temp, path)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here: create the name itself, exclusively (a concurrent reader
        # may then briefly see a short file and refuse it).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        _write_and_close(fd, key._key)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    return key


def _write_temp(path: Path, key: MasterKey) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    _write_and_close(os.open(temp, flags, 0o600), key._key)
    return temp


def _write_and_close(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_all(fd: int, limit: int) -> bytes:
    parts: list[bytes] = []
    while (size := sum(map(len, parts))) < limit and (part := os.read(fd, limit - size)):
        parts.append(part)
    return b"".join(parts)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
