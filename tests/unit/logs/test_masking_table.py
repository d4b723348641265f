"""What the masker replaces, and what it leaves alone."""

from __future__ import annotations

import pytest

from domain.logs.masking import Masker, SecretSet

GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PEM = (
    b"-----BEGIN RSA PRIVATE KEY-----\n"
    b"MIIEowIBAAKCAQEAs3kLQ4hZ1x2xq0sS0m5Y7t3o4b9m1K2j3L4n5P6q7R8s9T0u\n"
    b"-----END RSA PRIVATE KEY-----"
)


def masked(data: bytes, *secrets: str) -> bytes:
    masker = Masker()
    for secret in secrets:
        masker.add(secret)
    return masker.feed(data) + masker.flush()


@pytest.mark.parametrize(
    ("given", "secrets", "expected"),
    [
        (b"password is hunter2!!\n", ["hunter2!!"], b"password is ***\n"),
        (b"hunter2!! at start and end hunter2!!", ["hunter2!!"], b"*** at start and end ***"),
        (b"abcdef", ["abcd", "cdef"], b"***"),  # overlapping secrets: one mask
        (b"abcdabcd", ["abcd"], b"******"),  # adjacent occurrences: one mask each
        (b"aaaaaaa", ["aaaa"], b"***"),  # overlapping occurrences of one secret
        (b"abc is short", ["abc"], b"abc is short"),  # under 4 characters: ignored
        (b"    indented\n", ["    ", " \t\n ab \n"], b"    indented\n"),  # blank-ish: ignored
        (b"x=p%40ss%20w%2Frd;", ["p@ss w/rd"], b"x=***;"),  # URL-encoded
        (b"x=p%40ss+w%2Frd;", ["p@ss w/rd"], b"x=***;"),  # form-encoded
        (b'{"v": "a\\"b\\\\c-d"}', ['a"b\\c-d'], b'{"v": "***"}'),  # JSON-escaped
        (b"auth: c2VjcmV0LXZhbHVl\n", ["secret-value"], b"auth: ***\n"),  # base64
        (b"token abcd1234\n", ["  abcd1234\n"], b"token ***\n"),  # surrounding space
        (b"l1: first-line l2: second-line", ["first-line\nsecond-line"], b"l1: *** l2: ***"),
        (b"caf\xc3\xa9-secret", ["caf\u00e9-secret"], b"***"),  # UTF-8
        (b"\xff\xfe secret-1 \x1b[31m\xc3\x28", ["secret-1"], b"\xff\xfe *** \x1b[31m\xc3\x28"),
    ],
)
def test_registered_secrets_are_replaced(given: bytes, secrets: list[str], expected: bytes) -> None:
    assert masked(given, *secrets) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (f"token {GHP} used\n".encode(), b"token *** used\n"),
        (b"gho_" + b"x" * 36 + b"\n", b"***\n"),
        (b"ghu_" + b"x" * 36 + b" ghs_" + b"y" * 36 + b" ghr_" + b"z" * 36, b"*** *** ***"),
        (b"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv\n", b"***\n"),
        (b"GITLAB=glpat-abcdefghij0123456789xy\n", b"GITLAB=***\n"),
        (b"slack xoxb-1234567890-abcdefghij done", b"slack *** done"),
        (b"xoxp-1234-5678-abcdefghijkl xoxa-2-abcdefghijk", b"*** ***"),
        (b"aws AKIAIOSFODNN7EXAMPLE key", b"aws *** key"),
        (b"aws ASIAIOSFODNN7EXAMPLE key", b"aws *** key"),
        (b"Authorization: Bearer eyJhbGciOi.eyJzdWIi.SflKxw\n", b"Authorization: Bearer ***\n"),
        (b"authorization:bearer abc123\r\n", b"authorization:bearer ***\r\n"),
        (b'-H "Authorization: token ghx123" -v', b'-H "Authorization: token ***" -v'),
        (b'{"Authorization": "Basic dXNlcjpwYXNz"}', b'{"Authorization": "Basic ***"}'),
        (
            b"git clone https://x-access-token:s3cr3t@github.com/o/r",
            b"git clone https://x-access-token:***@github.com/o/r",
        ),
        (b"before\n" + PEM + b"\nafter\n", b"before\n***\nafter\n"),
        (
            b'{"key": "' + PEM.replace(b"\n", b"\\n") + b'\\n", "x": 1}\n',
            b'{"key": "***\\n", "x": 1}\n',
        ),
        (
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            b"***\n",
        ),
        (
            b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----\n",
            b"***\n",
        ),
        (PEM + b"\n" + PEM, b"***\n***"),
    ],
)
def test_well_known_token_shapes_are_replaced_without_registration(
    given: bytes, expected: bytes
) -> None:
    assert masked(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        b"ghp_short and github_pat_ alone",
        b"AKIA123 and akiaiosfodnn7example",
        b"Authorization: Bearer\n",
        b"Authorization header is documented elsewhere\n",
        b"https://example.com:8080/path@v1 and ssh://host/x",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
        bytes(range(256)),
        b"\x1b[1;32mPASS\x1b[0m tests/test_x.py \xe2\x9c\x93 \xed\xa0\x80\n",
        b"",
    ],
)
def test_everything_else_passes_through_byte_for_byte(given: bytes) -> None:
    assert masked(given, "unrelated-secret") == given


def test_a_private_key_without_an_end_line_is_masked_up_to_a_bound() -> None:
    from domain.logs.patterns import PEM_LIMIT

    body = b"A" * 63 + b"\n"
    given = b"-----BEGIN PRIVATE KEY-----\n" + body * (PEM_LIMIT // 64 + 10) + b"visible\n"
    out = masked(given)
    assert out.startswith(b"***")
    assert out.endswith(b"visible\n")
    assert len(out) < 64 * 12


def test_a_secret_split_across_feeds_is_masked() -> None:
    masker = Masker()
    masker.add("split-secret")
    out = masker.feed(b"value: split-") + masker.feed(b"sec") + masker.feed(b"ret\n")
    assert out + masker.flush() == b"value: ***\n"


def test_a_token_split_across_feeds_is_masked() -> None:
    masker = Masker()
    out = b"".join(masker.feed(bytes([b])) for b in f"use {GHP} now\n".encode())
    assert out + masker.flush() == b"use *** now\n"


def test_what_is_held_back_is_bounded() -> None:
    from domain.logs.masking import LINE_HOLD

    masker = Masker()
    masker.add("0123456789")  # longest form: 14 bytes of base64 without padding
    assert masker.feed(b"complete line\n" + b"x" * 40) == b"complete line\n"
    assert masker.feed(b"y" * (LINE_HOLD * 3)) != b""  # a long line does not wait for its end
    masker.flush()
    out = masker.feed(b"progress 10%\rprogress 20%\r" + b"z" * 20)
    assert out == b"progress 10%\rprogress 20%\r"  # \r ends a line: redraws flow


def test_a_secret_added_mid_stream_is_masked_from_then_on() -> None:
    masker = Masker()
    early = masker.feed(b"before: late-secret\n")
    masker.add("late-secret")
    later = masker.feed(b"after: late-sec") + masker.feed(b"ret\n") + masker.flush()
    assert early + later == b"before: late-secret\nafter: ***\n"


def test_streams_sharing_a_secret_set_mask_a_secret_added_through_either() -> None:
    shared = SecretSet()
    stdout, stderr = Masker(shared), Masker(shared)
    stdout.add("fetched-value")
    assert stderr.feed(b"err fetched-value\n") + stderr.flush() == b"err ***\n"
    assert stdout.feed(b"out fetched-value\n") + stdout.flush() == b"out ***\n"


def test_after_flush_the_masker_starts_a_fresh_stream() -> None:
    masker = Masker()
    masker.add("kept-secret")
    assert masker.feed(b"-----BEGIN PRIVATE KEY-----\nMIIB") + masker.flush() == b"***"
    assert masker.feed(b"next step kept-secret\n") + masker.flush() == b"next step ***\n"
