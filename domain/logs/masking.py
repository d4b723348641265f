"""The masker a job's output passes through before it is stored or fanned out.

``feed`` returns what is safe to emit now and ``flush`` the rest at the end of the
stream. The output is the input with each secret occurrence (see ``secrets``) and each
recognised token (see ``patterns``) replaced by ``***``; every other byte is passed
through unchanged, invalid UTF-8 included, and the result does not depend on how the
input was split into ``feed`` calls.

Hold-back: at most ``longest registered form - 1`` bytes for secrets, plus an
incomplete last line of at most ``LINE_HOLD - 1`` (8 KiB - 1) bytes for patterns. A
line is complete at ``\\n`` or ``\\r``, so progress output that redraws with ``\\r``
still flows; a prompt without a line end waits for the next line end or ``flush``.

Use one masker per stream (stdout, stderr) and share one ``SecretSet`` between the
streams of a job, so a secret the job fetches is masked in all of them from then on.
"""

from __future__ import annotations

from domain.logs.patterns import LINE_HOLD, PatternStage
from domain.logs.secrets import MASK, MIN_SECRET_LENGTH, SecretSet, SecretStage

__all__ = ["LINE_HOLD", "MASK", "MIN_SECRET_LENGTH", "Masker", "SecretSet", "mask_text"]


class Masker:
    def __init__(self, secrets: SecretSet | None = None, start: int = 0) -> None:
        """``start``: the input position the stream begins at (a stream resumed there)."""
        self.secrets = secrets if secrets is not None else SecretSet()
        self._secret_stage = SecretStage(self.secrets)
        self._pattern_stage = PatternStage()
        self._base = (0, start)  # (pattern-stage input, input): where the pieces begin

    def add(self, secret: str) -> None:
        """Mask ``secret`` (and its common encodings) from now on, in this masker and
        every other one sharing its ``SecretSet``. Values under 4 characters are
        ignored."""
        self.secrets.add(secret)

    def feed(self, data: bytes) -> bytes:
        return self._pattern_stage.feed(self._secret_stage.feed(data))

    def flush(self) -> bytes:
        """Everything held back. Call it at the end of the stream; the masker then
        starts a fresh stream (keeping its secrets)."""
        return self._pattern_stage.feed(self._secret_stage.feed(b"", final=True), final=True)

    @property
    def position(self) -> int:
        """The input position the output so far stands for: the bytes consumed minus
        those held back. A fresh masker fed the input from there on (``start=position``)
        continues the output exactly: no byte repeated, no fragment of a secret or token
        shown, as no occurrence and no open PEM block straddles it. (One exception, for
        lines over ``LINE_HOLD`` bytes only: when the output ends inside a ``***``, the
        position is where that secret began, so a part of ``***`` may show twice.)"""
        target = self._pattern_stage.position
        pieces = self._secret_stage.pieces
        out_at, in_at = self._base
        while len(pieces) > 1 and out_at + pieces[0][0] <= target:
            out_len, in_len, _ = pieces.popleft()
            out_at, in_at = out_at + out_len, in_at + in_len
        self._base = (out_at, in_at)
        for out_len, in_len, is_mask in pieces:
            if target < out_at + out_len:
                return in_at if is_mask else in_at + target - out_at
            out_at, in_at = out_at + out_len, in_at + in_len
        return in_at + target - out_at


def mask_text(text: str, secrets: SecretSet) -> str:
    """``text`` as a job's log would show it: for what a job says about itself outside
    its output (a step's command and name, its outcome message) before it is recorded
    or shown."""
    masker = Masker(secrets)
    data = text.encode("utf-8", "surrogatepass")
    return (masker.feed(data) + masker.flush()).decode("utf-8", "replace")
