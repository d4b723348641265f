"""One masker over a job's log: streams interleaved as written, a secret split anywhere
is masked without any timer, and what a forced release lets out stays context."""

from __future__ import annotations

import base64
import random
from urllib.parse import quote

import pytest

from domain.logs.masking import LogMasker

SECRET = "p/ss+w0rd&Ü?-42"
OUT, ERR, OTHER = (1, "stdout"), (1, "stderr"), (2, "stdout")


def joined(parts: list[tuple[tuple[int, str], bytes]]) -> bytes:
    return b"".join(data for _, data in parts)


def masker() -> LogMasker:
    log = LogMasker()
    log.add(SECRET)
    return log


@pytest.mark.parametrize("second", [OUT, ERR, OTHER])
def test_a_secret_split_at_every_position_over_two_streams_never_shows_whole(
    second: tuple[int, str],
) -> None:
    """The log holds the streams in the order their bytes reach it: on one stream the
    secret is one ``***`` however it was split; across streams it is one ``***`` unless
    the first part's end was still held back for token patterns (a ``-`` may begin a
    private key) when the second part came, in which case the log shows them apart. In
    no case does the log hold the secret whole."""
    data = SECRET.encode()
    for at in range(1, len(data)):
        for silence in (True, False):
            log = masker()
            out = joined(log.feed(OUT, b"x: " + data[:at]))
            if silence:
                out += joined(log.release_lines())
                assert data[:at] not in out, (at, out)  # may begin the secret: held
            out += joined(log.feed(second, data[at:] + b"\n")) + joined(log.flush())
            assert data not in out, (at, out)
            if second == OUT or (silence and not data[:at].endswith(b"-")):
                assert out == b"x: ***\n", (at, out)


def test_bytes_that_cannot_begin_a_secret_are_not_held() -> None:
    log = masker()
    assert joined(log.feed(OUT, b"progress 45%")) == b""  # an unfinished line (patterns)
    assert joined(log.release_lines()) == b"progress 45%"
    assert joined(log.feed(OUT, b" then p/s")) == b""
    assert joined(log.release_lines()) == b" then "  # "p/s" may begin the secret
    assert joined(log.feed(OUT, b"omething\n")) == b"p/something\n"


def test_what_a_release_let_out_is_context_for_the_next_bytes() -> None:
    log = masker()
    log.feed(OUT, b"x: p/ss+w")
    released = joined(log.flush({OUT}))
    assert released == b"x: p/ss+w"  # the stream ended: out it goes
    assert joined(log.feed(OTHER, b"0rd&\xc3\x9c?-42\n")) == b"***\n"


def test_every_base64_alignment_of_a_secret_inside_a_longer_text_is_masked() -> None:
    rng = random.Random(7)
    raw = SECRET.encode()
    for shift in range(3):
        for _ in range(5):
            text = rng.randbytes(shift + 3 * rng.randrange(3)) + raw + rng.randbytes(4)
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                log = masker()
                out = joined(log.feed(OUT, encode(text) + b"\n")) + joined(log.flush())
                assert b"***" in out, (shift, out)
                assert base64.b64encode(raw)[2:-2] not in out


def test_the_default_url_encoding_keeps_the_slash_and_is_masked() -> None:
    log = masker()
    out = joined(log.feed(OUT, quote(SECRET).encode() + b"\n"))
    assert "/" in quote(SECRET) and out == b"***\n"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (b"ghp_" + b"Ab1" * 12, b"x: ***\n"),
        (b"AKIAIOSFODNN7EXAMPLE", b"x: ***\n"),
        (
            b"https://deploy:hunter2-pw@example.com/repo",
            b"x: https://deploy:***@example.com/repo\n",
        ),
        (b"Authorization: Bearer tok.EN-42", b"x: Authorization: Bearer ***\n"),
    ],
)
def test_a_token_split_by_a_silence_is_still_masked(token: bytes, expected: bytes) -> None:
    for at in range(1, len(token)):
        log = LogMasker()
        out = joined(log.feed(OUT, b"x: " + token[:at])) + joined(log.release_lines())
        out += joined(log.feed(OUT, token[at:] + b"\n")) + joined(log.flush())
        assert out == expected, (at, out)
