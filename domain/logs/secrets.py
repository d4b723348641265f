"""Masking registered secret values (and their common encodings) in a byte stream."""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from urllib.parse import quote, quote_plus

MASK = b"***"
MIN_SECRET_LENGTH = 4


def encodings(secret: str) -> set[bytes]:
    """The byte strings under which ``secret`` may show up in a log: as is (UTF-8),
    without surrounding whitespace, each line of a multi-line value, URL-encoded,
    escaped inside a JSON string, and base64-encoded (without padding). Forms shorter
    than ``MIN_SECRET_LENGTH`` bytes are left out; so is everything for a value shorter
    than ``MIN_SECRET_LENGTH`` characters once surrounding whitespace is removed (four
    spaces are not worth masking every indentation for)."""
    if len(secret.strip()) < MIN_SECRET_LENGTH:
        return set()
    texts = {secret, secret.strip(), quote(secret, safe=""), quote_plus(secret, safe="")}
    texts |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    if "\n" in secret.strip():
        texts |= {line.strip() for line in secret.splitlines()}
    forms = {text.encode("utf-8", "surrogatepass") for text in texts}
    forms.add(base64.b64encode(secret.encode("utf-8", "surrogatepass")).rstrip(b"="))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class SecretSet:
    """The values one job fetched; shared by the maskers of all its streams. Thread-safe:
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
    """Replaces each maximal run of overlapping secret occurrences with ``***``.

    Holds back the last ``longest form - 1`` bytes (a secret may continue in the next
    ``feed``), plus the rest of an occurrence that may still overlap a later one. The
    output does not depend on how the input was split into ``feed`` calls.

    ``pieces`` says what the output stands for, in order: ``[output bytes, input bytes,
    is a ***]`` (the input bytes of the last *** grow while its run of occurrences may
    still continue). A reader takes pieces off its front as it consumes the output."""

    def __init__(self, secrets: SecretSet) -> None:
        self._secrets = secrets
        self._held = b""
        self._masked = 0  # leading bytes of _held already covered by an emitted ***
        self.pieces: deque[list[int]] = deque()

    def feed(self, data: bytes, final: bool = False) -> bytes:
        buf = self._held + data
        needles = self._secrets.needles
        safe = len(buf) if final or not needles else max(0, len(buf) - len(needles[0]) + 1)
        # Every occurrence starting before ``safe`` lies wholly inside ``buf``; later
        # ones are found in a later call, when their bytes have arrived.
        out: list[bytes] = []
        pos = 0
        for start, end in _regions(buf, needles, safe, self._masked):
            self._passed(out, buf[pos:start])
            if start >= self._masked:
                out.append(MASK)
                self.pieces.append([len(MASK), 0, 1])
            self.pieces[-1][1] += min(end, safe) - start  # input the *** stands for
            if end > safe:  # a later occurrence may still overlap: stay masked
                self._held, self._masked = buf[safe:], end - safe
                return b"".join(out)
            pos = end
        self._passed(out, buf[pos:safe])
        self._held, self._masked = buf[safe:], 0
        return b"".join(out)

    def _passed(self, out: list[bytes], data: bytes) -> None:
        if not data:
            return
        out.append(data)
        last = self.pieces[-1] if self.pieces else None
        if last is not None and not last[2]:
            last[0] += len(data)
            last[1] += len(data)
        else:
            self.pieces.append([len(data), len(data), 0])


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
