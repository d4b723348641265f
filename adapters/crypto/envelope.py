"""Envelope encryption with AES-256-GCM.

Each secret value gets a fresh random 256-bit data key; the value is encrypted with it
under a random 96-bit nonce and the caller's ``aad`` (``ciphertext`` is AES-GCM's output:
encrypted bytes followed by the 16-byte tag). The data key is itself encrypted
("wrapped") by the master key. The caller keeps the parts apart: nonce and ciphertext in
the append-only event log, the wrapped key in a mutable table under ``key_id`` —
deleting that row makes the ciphertext unreadable forever (crypto-shredding), and key
rotation re-wraps the rows without touching the log.

Wrapped key format (69 bytes): ``0x01`` (format) | master key id (8 bytes) |
nonce (12) | AES-GCM(master key, nonce, data key, aad = the first 9 bytes) (48).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.crypto.errors import DecryptionError
from adapters.crypto.keyfile import MasterKey

NONCE_SIZE = 12
DATA_KEY_SIZE = 32
_FORMAT = b"\x01"
_HEADER_SIZE = 1 + 8
WRAPPED_KEY_SIZE = _HEADER_SIZE + NONCE_SIZE + DATA_KEY_SIZE + 16


@dataclass(frozen=True, repr=False)
class Sealed:
    key_id: str  # names the wrapped data key in the key table
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return (
            f"Sealed(key_id={self.key_id!r}, wrapped_key=<{len(self.wrapped_key)} bytes>, "
            f"nonce=<{len(self.nonce)} bytes>, ciphertext=<{len(self.ciphertext)} bytes>)"
        )


def seal(master: MasterKey, plaintext: bytes, aad: bytes, key_id: str | None = None) -> Sealed:
    """Encrypt under a fresh data key, named ``key_id`` (default: a random one)."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_SIZE)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    return Sealed(key_id or uuid.uuid4().hex, _wrap(master, data_key), nonce, ciphertext)


def open_sealed(
    master: MasterKey, wrapped_key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes
) -> bytes:
    """The plaintext; ``DecryptionError`` if any part was altered or does not belong
    together, the aad differs, or the key was wrapped by another master key."""
    data_key = _unwrap(master, wrapped_key)
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, aad)
    except (InvalidTag, ValueError):
        raise DecryptionError(
            "the ciphertext failed authentication (altered, other aad, or another data key)"
        ) from None


def rewrap(old: MasterKey, new: MasterKey, wrapped_key: bytes) -> bytes:
    """The same data key wrapped by ``new``. Idempotent: a key already wrapped by
    ``new`` is checked and returned as is, so an interrupted rotation can be rerun."""
    if wrapped_key[1:_HEADER_SIZE] == bytes.fromhex(new.key_id):
        _unwrap(new, wrapped_key)
        return wrapped_key
    return _wrap(new, _unwrap(old, wrapped_key))


def wrapped_by(wrapped_key: bytes) -> str:
    """The id of the master key that wrapped this data key."""
    return wrapped_key[1:_HEADER_SIZE].hex()


def _wrap(master: MasterKey, data_key: bytes) -> bytes:
    header = _FORMAT + bytes.fromhex(master.key_id)
    nonce = os.urandom(NONCE_SIZE)
    return header + nonce + master.aead().encrypt(nonce, data_key, header)


def _unwrap(master: MasterKey, wrapped_key: bytes) -> bytes:
    if len(wrapped_key) != WRAPPED_KEY_SIZE or not wrapped_key.startswith(_FORMAT):
        raise DecryptionError("not a wrapped data key of a known format")
    header, nonce = wrapped_key[:_HEADER_SIZE], wrapped_key[_HEADER_SIZE:-48]
    if header[1:] != bytes.fromhex(master.key_id):
        raise DecryptionError(
            f"the data key is wrapped by master key {header[1:].hex()}, not {master.key_id}"
        )
    try:
        return master.aead().decrypt(nonce, wrapped_key[-48:], header)
    except InvalidTag:
        raise DecryptionError("the wrapped data key failed authentication") from None
