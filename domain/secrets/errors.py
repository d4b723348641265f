"""Named errors of the secrets context."""

from __future__ import annotations


class SecretsError(Exception):
    pass


class InvalidSecretKeyError(SecretsError):
    pass


class SecretNotFoundError(SecretsError):
    pass


class SecretUnreadableError(SecretsError):
    """The ciphertext cannot be decrypted (its data key was destroyed, or tampering)."""


class SecretAccessDeniedError(SecretsError):
    pass
