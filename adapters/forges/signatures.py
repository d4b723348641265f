"""Constant-time verification of webhook deliveries against candidate secrets.

Every candidate is compared (no early exit), each with ``hmac.compare_digest``; tokens
are compared as SHA-256 digests so not even their length leaks. Candidates with an empty
value are skipped: an empty secret would let anyone sign. Nothing here parses the body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from adapters.forges.payload import header
from domain.triggers.errors import (
    SignatureMismatchError,
    SignatureMissingError,
    WebhookSecretNotConfiguredError,
)
from domain.triggers.model import WebhookSecret

_SHA256_PREFIX = "sha256="


def verify_hmac_sha256(
    body: bytes, headers: Mapping[str, str], header_name: str, secrets: Sequence[WebhookSecret]
) -> tuple[str, ...]:
    """Ids of the candidates whose HMAC-SHA256 of ``body`` is the header's ``sha256=<hex>``."""
    candidates = _usable(secrets, header_name)
    given = _hmac_digest(header(headers, header_name), header_name)
    matched = [
        secret.id for secret in candidates if hmac.compare_digest(_sign(secret.value, body), given)
    ]
    return _matched(matched, header_name)


def verify_token(
    headers: Mapping[str, str], header_name: str, secrets: Sequence[WebhookSecret]
) -> tuple[str, ...]:
    """Ids of the candidates equal to the header's value (a shared-token scheme)."""
    candidates = _usable(secrets, header_name)
    value = header(headers, header_name)
    if value is None:
        raise SignatureMissingError(header_name)
    given = hashlib.sha256(value.encode()).digest()
    matched = [
        secret.id
        for secret in candidates
        if hmac.compare_digest(hashlib.sha256(secret.value.encode()).digest(), given)
    ]
    return _matched(matched, header_name)


def _usable(secrets: Sequence[WebhookSecret], header_name: str) -> list[WebhookSecret]:
    usable = [secret for secret in secrets if secret.value]
    if not usable:
        raise WebhookSecretNotConfiguredError(header_name)
    return usable


def _hmac_digest(value: str | None, header_name: str) -> bytes:
    if value is None:
        raise SignatureMissingError(header_name)
    if not value.lower().startswith(_SHA256_PREFIX):
        raise SignatureMismatchError(header_name, "is malformed: expected 'sha256=<hex digest>'")
    try:
        digest = bytes.fromhex(value[len(_SHA256_PREFIX) :])
    except ValueError:
        raise SignatureMismatchError(header_name, "is malformed: digest is not hex") from None
    if len(digest) != hashlib.sha256().digest_size:
        raise SignatureMismatchError(header_name, "is malformed: digest is not 32 bytes")
    return digest


def _sign(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def _matched(matched: list[str], header_name: str) -> tuple[str, ...]:
    if not matched:
        raise SignatureMismatchError(header_name)
    return tuple(matched)
