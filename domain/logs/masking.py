"""The masker a job's output passes through before it is stored or fanned out.

``LogMasker.feed`` takes what one stream of a job's log (a step's stdout, say) wrote
and returns what is safe to emit now, per stream; ``flush`` the rest when streams end.
The output is the input with each secret occurrence (see ``secrets``) and each
recognised token (see ``patterns``) replaced by ``***``; every other byte is passed
through unchanged, invalid UTF-8 included, and the result does not depend on how the
input was split into ``feed`` calls.

Secrets are found in the log's streams interleaved as written (the order the log shows
them in), so a secret written in two parts, to one stream or to two, is masked whatever
the pause between the parts: the masker holds back only the end of what was written
that begins some form of a secret, until the next bytes complete it (``***``) or rule
it out (released), or ``flush``.

Token patterns are masked first, line by line per stream: an incomplete last line of
at most ``LINE_HOLD - 1`` (8 KiB - 1) bytes is held back until its line end or
``flush``; ``release_lines`` (the caller's choice, e.g. after a silence, so a prompt or
a progress bar shows) lets out the part of it that cannot become a token. A line is
complete at ``\\n`` or ``\\r``. Secrets are masked last, so in the order the log shows
the output in.

Share one ``SecretSet`` between the maskers of a job, so a secret the job fetches is
masked in all of its output from then on.
"""

from __future__ import annotations

from domain.logs.patterns import LINE_HOLD, PatternStage
from domain.logs.pieces import MASK
from domain.logs.secrets import (
    MIN_SECRET_LENGTH,
    Emitted,
    SecretSet,
    SecretStage,
    StreamKey,
)

__all__ = [
    "LINE_HOLD",
    "MASK",
    "MIN_SECRET_LENGTH",
    "LogMasker",
    "Masker",
    "SecretSet",
    "StreamKey",
    "mask_text",
]


class LogMasker:
    """One job log's masker: its streams (by step and name) interleaved as written."""

    def __init__(self, secrets: SecretSet | None = None) -> None:
        self.secrets = secrets if secrets is not None else SecretSet()
        self._secret_stage = SecretStage(self.secrets)
        self._streams: dict[StreamKey, tuple[PatternStage, int]] = {}  # and its start

    def open(self, stream: StreamKey, start: int = 0) -> None:
        """Begin ``stream`` at input position ``start`` (a stream resumed there);
        a stream fed without being opened begins at 0."""
        if stream not in self._streams:
            self._secret_stage.feed(stream, b"")  # creates its pieces
            self._streams[stream] = (PatternStage(), start)

    def is_open(self, stream: StreamKey) -> bool:
        return stream in self._streams

    def add(self, secret: str) -> None:
        """Mask ``secret`` (and its common encodings) from now on, in this masker and
        every other one sharing its ``SecretSet``. Values under 4 characters are
        ignored."""
        self.secrets.add(secret)

    def feed(self, stream: StreamKey, data: bytes) -> list[Emitted]:
        """(stream, bytes) safe to emit now, in order."""
        self.open(stream)
        return self._secret_stage.feed(stream, self._streams[stream][0].feed(data))

    def flush(self, streams: set[StreamKey] | None = None) -> list[Emitted]:
        """Everything held back of ``streams`` (all by default): call it when their
        output ended. What the others hold stays held."""
        out: list[Emitted] = []
        for key, (patterns, _) in self._streams.items():
            if streams is None or key in streams:
                out += self._secret_stage.feed(key, patterns.feed(b"", final=True))
        if streams is None:
            first = next(iter(self._streams), None)
            return out + ([] if first is None else self._secret_stage.feed(first, b"", True))
        return out + self._secret_stage.release(streams)

    def release_lines(self, streams: set[StreamKey] | None = None) -> list[Emitted]:
        """What the token patterns hold of the unfinished last lines of ``streams`` (all
        by default) and cannot be part of a token; what may still become a token or a
        secret stays held back."""
        out: list[Emitted] = []
        for key, (patterns, _) in self._streams.items():
            if streams is None or key in streams:
                out += self._secret_stage.feed(key, patterns.release())
        return out

    def position(self, stream: StreamKey) -> int:
        """The input position of ``stream`` the output so far stands for: the bytes
        consumed minus those held back. A fresh masker with the stream opened there
        continues the output exactly: no byte repeated, no fragment of a secret or token
        shown, as no occurrence and no open PEM block straddles it. (One exception, for
        lines over ``LINE_HOLD`` bytes only: when the output ends inside a ``***``, the
        position is where that secret began, so a part of ``***`` may show twice.)"""
        self.open(stream)
        patterns, start = self._streams[stream]
        secret = self._secret_stage.pieces[stream]
        return start + patterns.pieces.input_at(secret.input_at(secret.output))


_ONLY: StreamKey = (0, "")


class Masker:
    """A ``LogMasker`` of a log with one stream."""

    def __init__(self, secrets: SecretSet | None = None, start: int = 0) -> None:
        """``start``: the input position the stream begins at (a stream resumed there)."""
        self._log = LogMasker(secrets)
        self._log.open(_ONLY, start)
        self.secrets = self._log.secrets

    def add(self, secret: str) -> None:
        self._log.add(secret)

    def feed(self, data: bytes) -> bytes:
        return b"".join(part for _, part in self._log.feed(_ONLY, data))

    def flush(self) -> bytes:
        return b"".join(part for _, part in self._log.flush())

    @property
    def position(self) -> int:
        return self._log.position(_ONLY)


def mask_text(text: str, secrets: SecretSet) -> str:
    """``text`` as a job's log would show it: for what a job says about itself outside
    its output (a step's command and name, its outcome message) before it is recorded
    or shown."""
    masker = Masker(secrets)
    data = text.encode("utf-8", "surrogatepass")
    return (masker.feed(data) + masker.flush()).decode("utf-8", "replace")
