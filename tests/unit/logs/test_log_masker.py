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
def test_a_secret_split_at_every_position_over_two_streams_is_masked(
    second: tuple[int, str],
) -> None:
    """With the first part's line let out by a silence (``release_lines``), the log shows
    ``x: ***``; without, the second stream's line may come first, and no order the log
    could show holds the secret whole."""
    data = SECRET.encode()
    for at in range(1, len(data)):
        log = masker()
        out = joined(log.feed(OUT, b"x: " + data[:at])) + joined(log.release_lines())
        assert out == b"x: ", (at, out)  # what may begin the secret is held back
        out += joined(log.feed(second, data[at:] + b"\n")) + joined(log.flush())
        assert out == b"x: ***\n", (at, out)
        log = masker()
        parts = log.feed(OUT, b"x: " + data[:at]) + log.feed(second, data[at:] + b"\n")
        assert data not in joined(parts + log.flush()), at


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
