"""What a masking stage's output stands for in its input."""

from __future__ import annotations

from collections import deque

MASK = b"***"


class Pieces:
    """The output in runs of ``[output bytes, input bytes, is a ***]``, in order (the
    input of the last *** may still grow while its run of occurrences continues; a ***
    of no output stands for input swallowed by a *** emitted elsewhere). ``input_at``
    takes runs off the front as its targets advance."""

    def __init__(self) -> None:
        self._runs: deque[list[int]] = deque()
        self._base = (0, 0)  # (output, input) where the runs begin
        self.output = 0  # output bytes so far

    def passed(self, size: int) -> None:
        if not size:
            return
        self.output += size
        if self._runs and not self._runs[-1][2]:
            self._runs[-1][0] += size
            self._runs[-1][1] += size
        else:
            self._runs.append([size, size, 0])

    def masked(self, out_size: int, in_size: int) -> None:
        """A new ***."""
        self.output += out_size
        self._runs.append([out_size, in_size, 1])

    def swallowed(self, size: int) -> None:
        """Input covered by the last *** (or by one emitted elsewhere)."""
        if self._runs and self._runs[-1][2]:
            self._runs[-1][1] += size
        else:
            self._runs.append([0, size, 1])

    def input_at(self, target: int) -> int:
        """The input position output position ``target`` stands for (inside a ***: where
        its input began). Targets must not decrease between calls."""
        runs = self._runs
        out_at, in_at = self._base
        while len(runs) > 1 and out_at + runs[0][0] <= target:
            out_len, in_len, _ = runs.popleft()
            out_at, in_at = out_at + out_len, in_at + in_len
        self._base = (out_at, in_at)
        for out_len, in_len, is_mask in runs:
            if target < out_at + out_len:
                return in_at if is_mask else in_at + target - out_at
            out_at, in_at = out_at + out_len, in_at + in_len
        return in_at + target - out_at
