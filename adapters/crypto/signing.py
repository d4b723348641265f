"""The provenance signing key: Ed25519, a PKCS#8 PEM file only its owner may read (0600)
in the data directory. Its public half is published as a PEM SubjectPublicKeyInfo.

``keyid`` is the lower-case hex SHA-256 of the raw 32-byte public key: the same for the
private and the public half, so a verifier can tell "signed by another key" from "the
statement was changed"."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.provenance.errors import SigningKeyError

SIGNING_KEY_FILE = "signing.key"


def _keyid(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


class Ed25519Signer:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.keyid = _keyid(key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_pem(self) -> str:
        return public_pem(self._key.public_key())

    def __repr__(self) -> str:
        return f"Ed25519Signer(keyid={self.keyid!r})"


class Ed25519Verifier:
    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self.keyid = _keyid(key)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_pem(cls, data: bytes, source: str = "the public key") -> Ed25519Verifier:
        """A PEM public key (or, on the server's machine, the private key file)."""
        try:
            key: object = serialization.load_pem_public_key(data)
        except ValueError:
            try:
                key = serialization.load_pem_private_key(data, password=None).public_key()
            except (ValueError, TypeError):
                raise SigningKeyError(f"{source} is not a PEM Ed25519 key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{source} is not an Ed25519 key")
        return cls(key)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def generate_signing_key(path: Path, force: bool = False) -> Ed25519Signer:
    """A new key in ``path`` (0600). Refuses to replace one unless ``force``: provenance
    signed with the old key then verifies only against the old public key."""
    if path.exists() and not force:
        raise SigningKeyError(
            f"{path} already exists; provenance signed with it verifies only against its "
            "public key (use --force to replace it anyway)"
        )
    key = Ed25519PrivateKey.generate()
    _write(path, key, replace=True)
    return Ed25519Signer(key)


def load_signing_key(path: Path) -> Ed25519Signer:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SigningKeyError(
            f"no signing key at {path}: create it with danube keys generate --signing"
        ) from None
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SigningKeyError(
            f"{path} has mode {mode:04o}: group or others may read the signing key; "
            f"it must be readable by its owner only (chmod 600 {path})"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{path} is not a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return Ed25519Signer(key)


def load_or_create_signing_key(path: Path) -> Ed25519Signer:
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it meanwhile
            _write(path, Ed25519PrivateKey.generate(), replace=False)
    return load_signing_key(path)


def _write(path: Path, key: Ed25519PrivateKey, *, replace: bool) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # FileExistsError when another process won
    finally:
        temp.unlink(missing_ok=True)
