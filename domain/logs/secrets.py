"""Masking registered secret values (and their common encodings) in one log: the
interleaved output of its streams, as written."""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

from domain.logs.pieces import MASK, Pieces

MIN_SECRET_LENGTH = 4
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encodings(secret: str) -> set[bytes]:
    """The byte strings under which ``secret`` may show up in a log: as is (UTF-8),
    without surrounding whitespace, each line of a multi-line value, URL-encoded
    (``quote`` with its default safe ``/`` and with none, ``quote_plus``), escaped inside
    a JSON string, and base64-encoded (standard and URL-safe; see ``_base64_forms``).
    Forms shorter than ``MIN_SECRET_LENGTH`` bytes are left out; so is everything for a
    value shorter than ``MIN_SECRET_LENGTH`` characters once surrounding whitespace is
    removed (four spaces are not worth masking every indentation for)."""
    if len(secret.strip()) < MIN_SECRET_LENGTH:
        return set()
    texts = {secret, secret.strip(), quote(secret), quote(secret, safe=""), quote_plus(secret)}
    texts |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    if "\n" in secret.strip():
        texts |= {line.strip() for line in secret.splitlines()}
    forms = {text.encode("utf-8", "surrogatepass") for text in texts}
    forms |= _base64_forms(secret.encode("utf-8", "surrogatepass"))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _base64_forms(value: bytes) -> set[bytes]:
    """The value encoded on its own (without padding), and, for each of the three
    alignments it may have inside a longer encoded stream (starting at byte 0, 1 or 2
    mod 3), the characters that encode its bits only: those do not depend on the bytes
    around it. Each standard and URL-safe."""
    forms = {base64.b64encode(value).rstrip(b"=")}
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + value)
        first, end = -(-8 * shift // 6), 8 * (shift + len(value)) // 6
        forms.add(encoded[first:end])
    return forms | {form.translate(_URLSAFE) for form in forms}


class SecretSet:
    """The values one job fetched; shared by the masker of all its logs. Thread-safe:
    ``add`` may be called while other threads mask."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._needles: tuple[bytes, ...] = ()

    def add(self, secret: str) -> None:
        forms = encodings(secret)
        with self._lock:
            self._needles = tuple(sorted(forms | set(self._needles), key=len, reverse=True))

    @property
    def needles(self) -> tuple[bytes, ...]:
        """Every form to mask, longest first."""
        return self._needles


StreamKey = tuple[int, str]  # (step, stream) of one job's log
Emitted = tuple[StreamKey, bytes]


class SecretStage:
    """Replaces each maximal run of overlapping secret occurrences with ``***`` in a
    log: the output of its streams interleaved as written (a secret written half to
    stdout and half to stderr, or by two steps running side by side, is still one
    occurrence; its ``***`` goes to the stream it began in).

    Holds back only the longest end of what was written that is the beginning of a
    form (what the next bytes could still complete), plus the rest of an occurrence that
    may still overlap a later one; the next bytes release it as soon as they rule it
    out, ``final`` or ``release`` (a stream's output ended) release it at once. No timer:
    whether a secret shows never depends on pauses. The end of what was emitted is kept
    as context, so bytes completing an occurrence that began in what a ``release`` let
    out are masked too: the log never shows a whole secret. Without ``release``, the
    output does not depend on how the input was split into ``feed`` calls.

    ``pieces[stream]`` says what that stream's output stands for in its input (bytes
    swallowed by a *** of another stream count as a *** of no output)."""

    def __init__(self, secrets: SecretSet) -> None:
        self._secrets = secrets
        self._context = b""  # the end of the input emitted so far
        self._held = b""
        self._owners: deque[tuple[StreamKey, int]] = deque()  # whose bytes _held are
        self._masked = 0  # leading bytes of _held already covered by an emitted ***
        self.pieces: dict[StreamKey, Pieces] = {}

    def feed(self, stream: StreamKey, data: bytes, final: bool = False) -> list[Emitted]:
        """What is safe to emit now, as (stream, bytes) in order."""
        self.pieces.setdefault(stream, Pieces())
        if data:
            if self._owners and self._owners[-1][0] == stream:
                self._owners[-1] = (stream, self._owners[-1][1] + len(data))
            else:
                self._owners.append((stream, len(data)))
        return self._scan(self._held + data, final)

    def release(self, streams: set[StreamKey]) -> list[Emitted]:
        """Emit what is held back of ``streams`` now (their output ended), ahead of what
        is held of others."""
        out: list[Emitted] = []
        held, masked = self._held, self._masked
        self._swallowed(out, masked, fresh=False)  # covered by its *** already
        context, kept, rest = [self._context, held[:masked]], deque[tuple[StreamKey, int]](), []
        at = masked
        for stream, count in self._owners:
            part = held[at : at + count]
            at += count
            if stream in streams:
                self._passed_part(out, stream, part)
                context.append(part)
            else:
                kept.append((stream, count))
                rest.append(part)
        self._owners, self._masked = kept, 0
        self._context = b"".join(context)[-self._longest() :]
        return out + self._scan(b"".join(rest), final=False)

    def _scan(self, held: bytes, final: bool) -> list[Emitted]:
        ctx = len(self._context)
        buf = self._context + held
        needles = self._secrets.needles
        safe = len(buf) if final else max(ctx, len(buf) - _open_prefix(buf, needles))
        # Every occurrence starting before ``safe`` lies wholly inside ``buf``; later
        # ones are found in a later call, when their bytes have arrived.
        out: list[Emitted] = []
        pos = ctx
        for first, end in _regions(buf, needles, ctx, safe, self._masked):
            start = max(first, ctx)  # what began in the context is out already
            self._passed(out, buf, pos, start)
            self._swallowed(out, min(end, safe) - start, fresh=start >= ctx + self._masked)
            if end > safe:  # a later occurrence may still overlap: stay masked
                self._keep(buf, safe, end - safe)
                return out
            pos = end
        self._passed(out, buf, pos, safe)
        self._keep(buf, safe, 0)
        return out

    def _keep(self, buf: bytes, safe: int, masked: int) -> None:
        self._context = buf[max(0, safe - self._longest()) : safe]
        self._held, self._masked = buf[safe:], masked

    def _longest(self) -> int:
        needles = self._secrets.needles
        return len(needles[0]) - 1 if needles else 0

    def _take(self, size: int) -> Iterator[tuple[StreamKey, int]]:
        """The streams the next ``size`` held bytes came from, in order."""
        while size:
            stream, owned = self._owners[0]
            count = min(size, owned)
            yield stream, count
            size -= count
            if count == owned:
                self._owners.popleft()
            else:
                self._owners[0] = (stream, owned - count)

    def _passed(self, out: list[Emitted], buf: bytes, pos: int, end: int) -> None:
        for stream, count in self._take(end - pos):
            self._passed_part(out, stream, buf[pos : pos + count])
            pos += count

    def _passed_part(self, out: list[Emitted], stream: StreamKey, data: bytes) -> None:
        if not data:
            return
        _emit(out, stream, data)
        self.pieces[stream].passed(len(data))

    def _swallowed(self, out: list[Emitted], size: int, fresh: bool) -> None:
        """``size`` bytes inside a run of occurrences; ``fresh``: the run begins here."""
        for stream, count in self._take(size):
            if fresh:
                _emit(out, stream, MASK)
                self.pieces[stream].masked(len(MASK), count)
                fresh = False
            else:
                self.pieces[stream].swallowed(count)


def _emit(out: list[Emitted], stream: StreamKey, data: bytes) -> None:
    if out and out[-1][0] == stream:
        out[-1] = (stream, out[-1][1] + data)
    else:
        out.append((stream, data))


def _open_prefix(buf: bytes, needles: tuple[bytes, ...]) -> int:
    """The length of the longest end of ``buf`` that begins some needle (without being
    all of it): what the next bytes could still complete."""
    longest = 0
    for needle in needles:
        if len(needle) - 1 <= longest:
            break  # longest first: no shorter needle can hold back more
        first = needle[:1]
        at = buf.find(first, max(0, len(buf) - len(needle) + 1))
        while at != -1 and len(buf) - at > longest:
            if needle.startswith(buf[at:]):
                longest = len(buf) - at
                break
            at = buf.find(first, at + 1)
    return longest


def _regions(
    buf: bytes, needles: tuple[bytes, ...], ctx: int, safe: int, masked: int
) -> list[list[int]]:
    """Merged [start, end) intervals of occurrences starting before ``safe`` and ending
    after ``ctx`` (what ended before was dealt with), with the already masked
    ``[ctx, ctx + masked)`` as an interval when there is one."""
    found = [(ctx, ctx + masked)] if masked else []
    for needle in needles:
        at = buf.find(needle, max(0, ctx - len(needle) + 1), safe + len(needle) - 1)
        while at != -1:
            found.append((at, at + len(needle)))
            at = buf.find(needle, at + 1, safe + len(needle) - 1)
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
