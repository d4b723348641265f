from __future__ import annotations


class CryptoError(Exception):
    pass


class InsecureKeyFileError(CryptoError):
    """The master key file is accessible to group or others."""


class InvalidKeyFileError(CryptoError):
    """The master key file is not a regular file of exactly 32 bytes."""


class KeyFileExistsError(CryptoError):
    """Generating a master key would overwrite an existing one."""


class DecryptionError(CryptoError):
    """A wrapped key or ciphertext failed authentication: tampered, wrong key, wrong aad,
    or its data key is gone."""
