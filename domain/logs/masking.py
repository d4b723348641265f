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
    def __init__(self, secrets: SecretSet | None = None) -> None:
        self.secrets = secrets if secrets is not None else SecretSet()
        self._secret_stage = SecretStage(self.secrets)
        self._pattern_stage = PatternStage()

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


def mask_text(text: str, secrets: SecretSet) -> str:
    """``text`` as a job's log would show it: for what a job says about itself outside
    its output (a step's command and name, its outcome message) before it is recorded
    or shown."""
    masker = Masker(secrets)
    data = text.encode("utf-8", "surrogatepass")
    return (masker.feed(data) + masker.flush()).decode("utf-8", "replace")
