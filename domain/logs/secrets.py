"""Masking registered secret values (and their common encodings) in one log: the
interleaved output of its streams, as written."""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

MASK = b"***"
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


class SecretStage:
    """Replaces each maximal run of overlapping secret occurrences with ``***`` in the
    interleaved output of a log's streams (a secret written half to stdout and half to
    stderr is one occurrence; its ``***`` goes to the stream it began in).

    Holds back only the longest end of what was written that is the beginning of a
    form (what the next bytes could still complete), plus the rest of an occurrence that
    may still overlap a later one; the next bytes release it as soon as they rule it
    out, ``final`` releases it all. No timer: whether a secret shows never depends on
    pauses. The output does not depend on how the input was split into ``feed`` calls.

    ``pieces[stream]`` says what that stream's output stands for, in order: ``[output
    bytes, input bytes, is a ***]`` (the input bytes of the last *** grow while its run
    of occurrences may still continue; bytes swallowed by a *** of another stream count
    as a *** of no output). A reader takes pieces off its front as it consumes the
    output."""

    def __init__(self, secrets: SecretSet) -> None:
        self._secrets = secrets
        self._held = b""
        self._owners: deque[list[str | int]] = deque()  # [stream, bytes] over _held
        self._masked = 0  # leading bytes of _held already covered by an emitted ***
        self.pieces: dict[str, deque[list[int]]] = {}

    def feed(self, stream: str, data: bytes, final: bool = False) -> list[tuple[str, bytes]]:
        """What is safe to emit now, as (stream, bytes) in the order written."""
        self._own(stream, len(data))
        buf = self._held + data
        needles = self._secrets.needles
        safe = len(buf) if final else len(buf) - _open_prefix(buf, needles)
        # Every occurrence starting before ``safe`` lies wholly inside ``buf``; later
        # ones are found in a later call, when their bytes have arrived.
        out: list[tuple[str, bytes]] = []
        pos = 0
        for start, end in _regions(buf, needles, safe, self._masked):
            self._passed(out, buf, pos, start)
            self._swallowed(out, min(end, safe) - start, fresh=start >= self._masked)
            if end > safe:  # a later occurrence may still overlap: stay masked
                self._held, self._masked = buf[safe:], end - safe
                return out
            pos = end
        self._passed(out, buf, pos, safe)
        self._held, self._masked = buf[safe:], 0
        return out

    def _own(self, stream: str, size: int) -> None:
        self.pieces.setdefault(stream, deque())
        if not size:
            return
        if self._owners and self._owners[-1][0] == stream:
            self._owners[-1][1] = int(self._owners[-1][1]) + size
        else:
            self._owners.append([stream, size])

    def _take(self, size: int) -> Iterator[tuple[str, int]]:
        """The streams the next ``size`` held bytes came from, in order."""
        while size:
            owner = self._owners[0]
            count = min(size, int(owner[1]))
            yield str(owner[0]), count
            size -= count
            owner[1] = int(owner[1]) - count
            if not owner[1]:
                self._owners.popleft()

    def _passed(self, out: list[tuple[str, bytes]], buf: bytes, pos: int, end: int) -> None:
        for stream, count in self._take(end - pos):
            _emit(out, stream, buf[pos : pos + count])
            pieces = self.pieces[stream]
            if pieces and not pieces[-1][2]:
                pieces[-1][0] += count
                pieces[-1][1] += count
            else:
                pieces.append([count, count, 0])
            pos += count

    def _swallowed(self, out: list[tuple[str, bytes]], size: int, fresh: bool) -> None:
        """``size`` bytes inside a run of occurrences; ``fresh``: the run begins here."""
        for stream, count in self._take(size):
            pieces = self.pieces[stream]
            if fresh:
                _emit(out, stream, MASK)
                pieces.append([len(MASK), count, 1])
                fresh = False
            elif pieces and pieces[-1][2]:
                pieces[-1][1] += count  # input the *** stands for
            else:
                pieces.append([0, count, 1])


def _emit(out: list[tuple[str, bytes]], stream: str, data: bytes) -> None:
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


def _regions(buf: bytes, needles: tuple[bytes, ...], safe: int, masked: int) -> list[list[int]]:
    """Merged [start, end) intervals of occurrences starting before ``safe``, with the
    already masked prefix ``[0, masked)`` as the first interval when there is one."""
    found = [(0, masked)] if masked else []
    for needle in needles:
        at = buf.find(needle, 0, safe + len(needle) - 1)
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
