"""Envelope encryption: round trips, tamper detection, crypto-shredding, rotation."""

from __future__ import annotations

import os

import pytest

from adapters.crypto.envelope import (
    WRAPPED_KEY_SIZE,
    Sealed,
    open_sealed,
    rewrap,
    seal,
    wrapped_by,
)
from adapters.crypto.errors import DecryptionError
from adapters.crypto.keyfile import MasterKey

AAD = b"pipeline=web;key=PYPI_TOKEN"


@pytest.fixture
def master() -> MasterKey:
    return MasterKey(os.urandom(32))


def opened(master: MasterKey, sealed: Sealed, aad: bytes = AAD) -> bytes:
    return open_sealed(master, sealed.wrapped_key, sealed.nonce, sealed.ciphertext, aad)


@pytest.mark.parametrize(
    "plaintext", [b"", b"hunter2", "p\u00e4ss\u2603".encode(), os.urandom(1 << 20)]
)
def test_a_sealed_value_opens_to_the_same_bytes(master: MasterKey, plaintext: bytes) -> None:
    sealed = seal(master, plaintext, AAD)
    assert plaintext == opened(master, sealed)
    assert len(sealed.nonce) == 12
    assert len(sealed.ciphertext) == len(plaintext) + 16
    assert len(sealed.wrapped_key) == WRAPPED_KEY_SIZE
    assert plaintext not in sealed.ciphertext or not plaintext


def test_every_seal_uses_a_fresh_data_key_and_nonce(master: MasterKey) -> None:
    one, two = seal(master, b"same value", AAD), seal(master, b"same value", AAD)
    assert one.key_id != two.key_id
    assert one.wrapped_key != two.wrapped_key
    assert one.nonce != two.nonce
    assert one.ciphertext != two.ciphertext


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_any_altered_byte_is_detected(master: MasterKey) -> None:
    sealed = seal(master, b"the value", AAD)
    parts = {
        "wrapped_key": sealed.wrapped_key,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
    }
    for field, data in parts.items():
        for index in range(len(data)):
            altered = {**parts, field: flipped(data, index)}
            with pytest.raises(DecryptionError):
                open_sealed(
                    master, altered["wrapped_key"], altered["nonce"], altered["ciphertext"], AAD
                )


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: (s.wrapped_key[:-1], s.nonce, s.ciphertext, AAD),
        lambda s: (s.wrapped_key + b"\x00", s.nonce, s.ciphertext, AAD),
        lambda s: (b"", s.nonce, s.ciphertext, AAD),
        lambda s: (s.wrapped_key, s.nonce[:8], s.ciphertext, AAD),
        lambda s: (s.wrapped_key, b"", s.ciphertext, AAD),
        lambda s: (s.wrapped_key, s.nonce, s.ciphertext[:-1], AAD),
        lambda s: (s.wrapped_key, s.nonce, b"", AAD),
        lambda s: (s.wrapped_key, s.nonce, s.ciphertext, AAD + b"x"),
        lambda s: (s.wrapped_key, s.nonce, s.ciphertext, b""),
    ],
)
def test_truncated_parts_or_another_aad_are_refused(master: MasterKey, damage) -> None:  # type: ignore[no-untyped-def]
    sealed = seal(master, b"the value", AAD)
    with pytest.raises(DecryptionError):
        open_sealed(master, *damage(sealed))


def test_parts_of_two_secrets_do_not_combine(master: MasterKey) -> None:
    one, two = seal(master, b"one", AAD), seal(master, b"two", AAD)
    with pytest.raises(DecryptionError):
        open_sealed(master, two.wrapped_key, one.nonce, one.ciphertext, AAD)
    with pytest.raises(DecryptionError):
        open_sealed(master, one.wrapped_key, two.nonce, one.ciphertext, AAD)


def test_another_master_key_cannot_open_it(master: MasterKey) -> None:
    sealed = seal(master, b"the value", AAD)
    other = MasterKey(os.urandom(32))
    with pytest.raises(
        DecryptionError, match=f"wrapped by master key {master.key_id}, not {other.key_id}"
    ):
        opened(other, sealed)


def test_a_forged_key_id_in_the_wrapped_key_is_detected(master: MasterKey) -> None:
    sealed = seal(master, b"the value", AAD)
    other = MasterKey(os.urandom(32))
    forged = sealed.wrapped_key[:1] + bytes.fromhex(other.key_id) + sealed.wrapped_key[9:]
    with pytest.raises(DecryptionError, match="failed authentication"):
        open_sealed(other, forged, sealed.nonce, sealed.ciphertext, AAD)


def test_rotation_rewraps_the_data_key_without_touching_the_ciphertext(master: MasterKey) -> None:
    sealed = seal(master, b"survives rotation", AAD)
    new = MasterKey(os.urandom(32))
    rewrapped = rewrap(master, new, sealed.wrapped_key)
    assert wrapped_by(sealed.wrapped_key) == master.key_id
    assert wrapped_by(rewrapped) == new.key_id
    assert open_sealed(new, rewrapped, sealed.nonce, sealed.ciphertext, AAD) == b"survives rotation"
    with pytest.raises(DecryptionError):
        open_sealed(master, rewrapped, sealed.nonce, sealed.ciphertext, AAD)
    assert rewrap(master, new, rewrapped) == rewrapped  # a rerun rotation is a no-op


def test_rewrapping_with_the_wrong_old_key_is_refused(master: MasterKey) -> None:
    sealed = seal(master, b"x", AAD)
    stranger, new = MasterKey(os.urandom(32)), MasterKey(os.urandom(32))
    with pytest.raises(DecryptionError):
        rewrap(stranger, new, sealed.wrapped_key)


def test_sealed_values_do_not_show_key_material(master: MasterKey) -> None:
    sealed = seal(master, b"hunter2", AAD)
    text = repr(sealed)
    assert sealed.key_id in text
    for secret in (sealed.wrapped_key, sealed.ciphertext, sealed.nonce):
        assert secret.hex() not in text and repr(secret) not in text
