"""The masker a job's output passes through before it is stored or fanned out.

``LogMasker.feed`` takes what one stream of a log wrote and returns what is safe to
emit now, per stream; ``flush`` the rest at the end of the log's output (a step's end).
The output is the input with each secret occurrence (see ``secrets``) and each
recognised token (see ``patterns``) replaced by ``***``; every other byte is passed
through unchanged, invalid UTF-8 included, and the result does not depend on how the
input was split into ``feed`` calls.

Secrets are found in the log's streams interleaved as written, so a secret written in
two parts, to one stream or to two, is masked whatever the pause between the parts: the
masker holds back only the end of what was written that begins some form of a secret,
until the next bytes complete it (``***``) or rule it out (released), or ``flush``.

Token patterns work line by line per stream: an incomplete last line of at most
``LINE_HOLD - 1`` (8 KiB - 1) bytes is held back until its line end, ``release_lines``
(the caller's choice, e.g. after a silence, so a prompt or a progress bar shows) or
``flush``. A line is complete at ``\\n`` or ``\\r``. Secrets were masked before: what
``release_lines`` lets out never holds any part of one.

Share one ``SecretSet`` between the maskers of a job, so a secret the job fetches is
masked in all of its output from then on.
"""

from __future__ import annotations

from collections import deque

from domain.logs.patterns import LINE_HOLD, PatternStage
from domain.logs.secrets import MASK, MIN_SECRET_LENGTH, SecretSet, SecretStage

__all__ = [
    "LINE_HOLD",
    "MASK",
    "MIN_SECRET_LENGTH",
    "LogMasker",
    "Masker",
    "SecretSet",
    "mask_text",
]


class _Stream:
    def __init__(self, pieces: deque[list[int]], start: int) -> None:
        self.patterns = PatternStage()
        self.pieces = pieces  # the secret stage's, for this stream
        self.base = (0, start)  # (pattern-stage input, input): where the pieces begin

    @property
    def position(self) -> int:
        target = self.patterns.position
        pieces = self.pieces
        out_at, in_at = self.base
        while len(pieces) > 1 and out_at + pieces[0][0] <= target:
            out_len, in_len, _ = pieces.popleft()
            out_at, in_at = out_at + out_len, in_at + in_len
        self.base = (out_at, in_at)
        for out_len, in_len, is_mask in pieces:
            if target < out_at + out_len:
                return in_at if is_mask else in_at + target - out_at
            out_at, in_at = out_at + out_len, in_at + in_len
        return in_at + target - out_at


class LogMasker:
    """One log's masker: its streams (by name) interleaved as written."""

    def __init__(self, secrets: SecretSet | None = None) -> None:
        self.secrets = secrets if secrets is not None else SecretSet()
        self._secret_stage = SecretStage(self.secrets)
        self._streams: dict[str, _Stream] = {}

    def open(self, stream: str, start: int = 0) -> None:
        """Begin ``stream`` at input position ``start`` (a stream resumed there);
        a stream fed without being opened begins at 0."""
        if stream not in self._streams:
            self._secret_stage.feed(stream, b"")  # creates its pieces
            self._streams[stream] = _Stream(self._secret_stage.pieces[stream], start)

    def is_open(self, stream: str) -> bool:
        return stream in self._streams

    def add(self, secret: str) -> None:
        """Mask ``secret`` (and its common encodings) from now on, in this masker and
        every other one sharing its ``SecretSet``. Values under 4 characters are
        ignored."""
        self.secrets.add(secret)

    def feed(self, stream: str, data: bytes) -> list[tuple[str, bytes]]:
        """(stream, bytes) safe to emit now, in order."""
        self.open(stream)
        return self._patterns(self._secret_stage.feed(stream, data), final=False)

    def flush(self) -> list[tuple[str, bytes]]:
        """Everything held back. Call it at the end of the log's output; the masker
        then starts afresh (keeping its secrets and streams' positions)."""
        first = next(iter(self._streams), None)
        if first is None:
            return []
        return self._patterns(self._secret_stage.feed(first, b"", final=True), final=True)

    def release_lines(self) -> list[tuple[str, bytes]]:
        """The incomplete last lines the token patterns hold (not a possible secret:
        that stays held back)."""
        return self._patterns([], final=True)

    def position(self, stream: str) -> int:
        """The input position of ``stream`` the output so far stands for: the bytes
        consumed minus those held back. A fresh masker with the stream opened there
        continues the output exactly: no byte repeated, no fragment of a secret or token
        shown, as no occurrence and no open PEM block straddles it. (One exception, for
        lines over ``LINE_HOLD`` bytes only: when the output ends inside a ``***``, the
        position is where that secret began, so a part of ``***`` may show twice.)"""
        self.open(stream)
        return self._streams[stream].position

    def _patterns(self, parts: list[tuple[str, bytes]], final: bool) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        for stream, data in parts:
            masked = self._streams[stream].patterns.feed(data)
            if masked:
                out.append((stream, masked))
        if final:
            for name, state in self._streams.items():
                if rest := state.patterns.feed(b"", final=True):
                    out.append((name, rest))
        return out


class Masker:
    """A ``LogMasker`` of a log with one stream."""

    def __init__(self, secrets: SecretSet | None = None, start: int = 0) -> None:
        """``start``: the input position the stream begins at (a stream resumed there)."""
        self._log = LogMasker(secrets)
        self._log.open("", start)
        self.secrets = self._log.secrets

    def add(self, secret: str) -> None:
        self._log.add(secret)

    def feed(self, data: bytes) -> bytes:
        return b"".join(part for _, part in self._log.feed("", data))

    def flush(self) -> bytes:
        return b"".join(part for _, part in self._log.flush())

    @property
    def position(self) -> int:
        return self._log.position("")


def mask_text(text: str, secrets: SecretSet) -> str:
    """``text`` as a job's log would show it: for what a job says about itself outside
    its output (a step's command and name, its outcome message) before it is recorded
    or shown."""
    masker = Masker(secrets)
    data = text.encode("utf-8", "surrogatepass")
    return (masker.feed(data) + masker.flush()).decode("utf-8", "replace")
