"""Property-style: for inputs assembled from fragments whose masked form is known, every
way of splitting the input into ``feed`` calls gives exactly the expected output."""

from __future__ import annotations

import random
import re

import pytest

from domain.logs.masking import LINE_HOLD, Masker

SECRETS = ["SECRET-ONE-1234", "TOPSECRET99", "P@SS W0RD/X"]
TOKENS = [
    b"ghp_" + b"Ab1" * 12,
    b"github_pat_11AAAAAAA0" + b"x_y" * 10,
    b"glpat-" + b"Zz9-" * 5,
    b"xoxs-12345-ABCDEFGHIJ",
    b"AKIAIOSFODNN7EXAMPLE",
]
PEM = b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBrandom\nMoreKeyMaterial==\n-----END EC PRIVATE KEY-----"
# Bytes that can neither form nor extend a secret or a token.
SAFE = b"abcdefghijklmnopqrstuvwxyz \t\x1b[;" + bytes(range(0x80, 0x100))
TO_SAFE = bytes(SAFE[i % len(SAFE)] for i in range(256))


def safe_bytes(rng: random.Random, length: int) -> bytes:
    return rng.randbytes(length).translate(TO_SAFE)


def fragment(rng: random.Random) -> tuple[bytes, bytes]:
    """(input, expected output)"""
    kind = rng.randrange(10)
    if kind == 0:
        secret = rng.choice(SECRETS).encode()
        return secret, b"***"
    if kind == 1:
        return b"P%40SS%20W0RD%2FX", b"***"
    if kind == 2:
        return b" " + rng.choice(TOKENS) + b" ", b" *** "
    if kind == 3:
        return b"\nAuthorization: Bearer tok.EN-42\n", b"\nAuthorization: Bearer ***\n"
    if kind == 4:
        return b"\n" + PEM + b"\n", b"\n***\n"
    if kind == 5:
        return (line_end := rng.choice([b"\n", b"\r", b"\r\n"])), line_end
    if kind == 6:
        long = safe_bytes(rng, rng.randrange(LINE_HOLD, 3 * LINE_HOLD))
        return long, long
    safe = safe_bytes(rng, rng.randrange(0, 200))
    return safe, safe


def random_splits(data: bytes, rng: random.Random) -> list[bytes]:
    if len(data) < 3000 and rng.random() < 0.2:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(0, 40)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def masked(pieces: list[bytes]) -> bytes:
    masker = Masker()
    for secret in SECRETS:
        masker.add(secret)
    return b"".join(masker.feed(piece) for piece in pieces) + masker.flush()


@pytest.mark.parametrize("seed", range(150))
def test_any_split_of_the_input_gives_the_expected_output(seed: int) -> None:
    rng = random.Random(seed)
    fragments = [fragment(rng) for _ in range(rng.randrange(1, 60))]
    given = b"".join(f[0] for f in fragments)
    expected = b"".join(f[1] for f in fragments)
    assert masked([given]) == expected
    for _ in range(3):
        assert masked(random_splits(given, rng)) == expected


@pytest.mark.parametrize("seed", range(30))
def test_random_bytes_without_secrets_pass_unchanged(seed: int) -> None:
    rng = random.Random(1000 + seed)
    given = rng.randbytes(rng.randrange(0, 40_000))
    assert masked(random_splits(given, rng)) == given


def test_a_token_at_every_position_around_a_window_edge_is_masked() -> None:
    token = TOKENS[0]
    for at in range(LINE_HOLD - 4200, LINE_HOLD + 100, 37):
        given = b"a" * at + b" " + token + b" " + b"b" * 9000
        expected = b"a" * at + b" *** " + b"b" * 9000
        rng = random.Random(at)
        assert masked(random_splits(given, rng)) == expected, at


def resumed(pieces: list[bytes], given: bytes, stop: int, rng: random.Random) -> bytes:
    """The output of a masker that was fed ``pieces[:stop]`` and then lost (what it held
    back is gone), followed by that of a fresh masker fed the input from its position."""
    first = Masker()
    for secret in SECRETS:
        first.add(secret)
    out = b"".join(first.feed(piece) for piece in pieces[:stop])
    position = first.position
    assert 0 <= position <= sum(len(piece) for piece in pieces[:stop])
    second = Masker(first.secrets, start=position)
    rest = random_splits(given[position:], rng) if position < len(given) else []
    out += b"".join(second.feed(piece) for piece in rest) + second.flush()
    assert second.position == len(given)
    return out


@pytest.mark.parametrize("seed", range(150))
def test_a_stream_resumed_from_the_maskers_position_repeats_and_reveals_nothing(
    seed: int,
) -> None:
    rng = random.Random(5000 + seed)
    fragments = [fragment(rng) for _ in range(rng.randrange(1, 60))]
    given = b"".join(f[0] for f in fragments)
    expected = b"".join(f[1] for f in fragments)
    long_lines = any(len(line) >= LINE_HOLD for line in given.splitlines())
    for _ in range(3):
        pieces = random_splits(given, rng)
        out = resumed(pieces, given, rng.randrange(len(pieces) + 1), rng)
        if long_lines:  # a cut inside a *** of a long line may show part of it twice
            out, expected = stars(out), stars(expected)
        assert out == expected


def stars(data: bytes) -> bytes:
    return re.sub(rb"\*{3,}", b"***", data)


def test_the_position_stops_before_a_secret_that_is_still_held_back() -> None:
    masker = Masker()
    masker.add("s3cr3t-Value-42")
    given = b"first line\nthe token is s3cr3t-Val"
    assert masker.feed(given) == b"first line\n"
    assert masker.position == len(b"first line\n")  # not inside the held-back secret
    assert masker.feed(b"ue-42\n") == b"the token is ***\n"
    assert masker.position == len(given) + 6


def test_the_position_stops_before_an_open_private_key_block() -> None:
    masker = Masker()
    head = b"key:\n-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBgkq\n"
    assert masker.feed(head) == b"key:\n"
    assert masker.position == len(b"key:\n")
    tail = b"-----END PRIVATE KEY-----\nnext\n"
    assert masker.feed(tail) == b"***\nnext\n"
    assert masker.position == len(head + tail)


def test_after_flush_the_position_is_everything_fed() -> None:
    masker = Masker(start=100)
    masker.add("kept-secret")
    masker.feed(b"partial kept-sec")
    assert masker.position == 100
    assert masker.flush() == b"partial kept-sec"
    assert masker.position == 116
