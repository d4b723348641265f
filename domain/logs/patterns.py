"""Masking well-known token shapes that were never registered as secrets.

Recognised: GitHub tokens (``ghp_ gho_ ghu_ ghs_ ghr_`` + 20-255 alphanumerics,
``github_pat_``), GitLab ``glpat-``, Slack ``xox[abprs]-``, AWS access key ids
(``AKIA``/``ASIA`` + 16), the credential of an ``Authorization: Bearer|Basic|Token``
header (the header name and scheme stay visible), the password in a URL
(``scheme://user:PASSWORD@``), and PEM private key blocks (``-----BEGIN ... PRIVATE
KEY-----`` through the matching END line, as one ``***``).

Streaming: no pattern spans a line end (``\\n`` or ``\\r``) except a PEM block, which
is handled as a state, so the stage works line by line and holds back an incomplete
last line of up to ``LINE_HOLD - 1`` bytes. A longer line is scanned in windows of
``LINE_HOLD`` bytes that advance by at least ``LINE_HOLD - MAX_MATCH``; every pattern
matches at most ``MAX_MATCH`` bytes, so no match is cut and the output does not depend
on how the input was split. A PEM block with no END line within ``PEM_LIMIT`` bytes of
its BEGIN line is masked up to there, and output resumes.
"""

from __future__ import annotations

import re

from domain.logs.pieces import MASK, Pieces

LINE_HOLD = 8192
MAX_MATCH = 4096
PEM_LIMIT = 64 * 1024

# One expression per shape: each starts with a literal, so ``re`` finds candidates with a
# fast substring search (one alternation of all of them scans ~100x slower).
_TOKENS = tuple(
    re.compile(pattern)
    for pattern in (
        rb"gh[pousr]_[A-Za-z0-9]{20,255}",
        rb"github_pat_[A-Za-z0-9_]{20,255}",
        rb"glpat-[A-Za-z0-9_-]{20,255}(?:\.[A-Za-z0-9_-]{1,64}){0,3}",
        rb"xox[abprs]-[A-Za-z0-9-]{10,255}",
        rb"AKIA[0-9A-Z]{16}",
        rb"ASIA[0-9A-Z]{16}",
    )
)
_URL = re.compile(rb"(?P<prefix>://[^/\s:@]{1,128}:)(?P<secret>[^/\s@]{1,256})@")
_PEM = re.compile(rb"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(rb"-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_SEARCHED = (*_TOKENS, _URL, _PEM)
# Case-insensitive, so no literal prefix for ``re``: candidates come from a lowered copy.
_HEADER = re.compile(
    rb"(?P<prefix>authorization[\"']?[ \t]{0,8}[:=][ \t]{0,8}[\"']?"
    rb"(?:bearer|basic|token)[ \t]{1,8})(?P<secret>[^\s\"'\\,;]{1,3000})",
    re.IGNORECASE,
)


def _open(atoms: list[str], tail: str, flags: int = 0) -> re.Pattern[bytes]:
    """Ends of a line that may still become a match: a prefix of ``atoms`` (each one
    unit of the shape's literal start), or all of them followed by ``tail``."""
    nested = tail
    for atom in reversed(atoms):
        nested = f"{atom}(?:{nested})?"
    return re.compile(f"(?:{nested})\\Z".encode(), flags)


# What may still become a token once the rest of its line arrives (``PatternStage.release``
# lets out only what lies before the earliest of these).
_OPEN = (
    _open(["g", "h", "[pousr]", "_"], "[A-Za-z0-9]*"),
    _open(list("github_pat_"), "[A-Za-z0-9_]*"),
    _open(list("glpat-"), "[A-Za-z0-9_.-]*"),
    _open(["x", "o", "x", "[abprs]", "-"], "[A-Za-z0-9-]*"),
    _open(["A", "[KS]", "I", "A"], "[0-9A-Z]*"),
    _open([":", "/", "/"], r"[^/\s:@]*(?::[^/\s@]*)?"),
    _open(["-"] * 5 + list("BEGIN"), "[ A-Z0-9-]*"),
    _open(
        list("authorization"),
        r"[\"']?[ \t]*(?:[:=][ \t]*[\"']?(?:[a-z]*(?:[ \t]+[^\s\"'\\,;]*)?)?)?",
        re.IGNORECASE,
    ),
)


def _open_start(line: bytes) -> int:
    """Where the earliest possible beginning of a token in an unfinished line is (its
    length when there is none)."""
    starts = (found.start() for pattern in _OPEN if (found := pattern.search(line)))
    return min(starts, default=len(line))


class _Matches:
    """The leftmost match of any shape at or after a position in one subject, as one
    alternation of all shapes (in the order above) would find it."""

    def __init__(self, subject: bytes) -> None:
        self._subject = subject
        self._lowered: bytes | None = None
        self._next: list[re.Match[bytes] | bool | None] = [True] * (len(_SEARCHED) + 1)

    def after(self, pos: int) -> re.Match[bytes] | None:
        best: re.Match[bytes] | None = None
        for index in range(len(self._next)):
            found = self._next[index]
            if found is True or (isinstance(found, re.Match) and found.start() < pos):
                found = self._next[index] = self._search(index, pos)
            if isinstance(found, re.Match) and (best is None or found.start() < best.start()):
                best = found
        return best

    def _search(self, index: int, pos: int) -> re.Match[bytes] | None:
        if index < len(_SEARCHED):
            return _SEARCHED[index].search(self._subject, pos)
        if self._lowered is None:
            self._lowered = self._subject.lower()
        at = self._lowered.find(b"authorization", pos)
        while at != -1:
            found = _HEADER.match(self._subject, at)
            if found is not None:
                return found
            at = self._lowered.find(b"authorization", at + 1)
        return None


class PatternStage:
    """A PEM block's ``***`` is emitted when the block ends (nothing is emitted inside
    it anyway), so the output so far always stands for the input up to ``position``:
    a fresh stage fed the input from there on continues the output exactly."""

    def __init__(self) -> None:
        self._held = bytearray()  # an incomplete line: never holds a line end
        self._pem_budget = 0  # > 0 while inside a PEM block: bytes left to swallow
        self._pem_from: int | None = None  # where the open PEM block began
        self._consumed = 0  # input before ``_held``: emitted, masked or swallowed
        self.pieces = Pieces()  # what the output stands for

    @property
    def position(self) -> int:
        """How much of the input the output so far stands for."""
        return self._consumed if self._pem_from is None else self._pem_from

    def feed(self, data: bytes, final: bool = False) -> bytes:
        if not final and len(self._held) + len(data) < LINE_HOLD and not _has_line_end(data):
            self._held += data
            return b""
        origin = self._consumed
        buf = bytes(self._held) + data
        out: list[bytes] = []
        start = max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1
        if start:
            out.append(self._scan(buf[:start], start, origin)[0])  # whole lines
        while len(buf) - start >= LINE_HOLD or (final and start < len(buf)):
            length, cut = LINE_HOLD, LINE_HOLD - MAX_MATCH  # a window of a long line
            if final and len(buf) - start <= LINE_HOLD:
                length = cut = len(buf) - start
            masked, used = self._scan(buf[start : start + length], cut, origin + start)
            out.append(masked)
            start += used
        self._held = bytearray(buf[start:])
        self._consumed = origin + start
        if final:
            if self._pem_from is not None:
                out.append(MASK)
                self.pieces.masked(len(MASK), self._consumed - self._pem_from)
            self._pem_budget, self._pem_from = 0, None
        return b"".join(out)

    def release(self) -> bytes:
        """What of the unfinished line held back cannot become (part of) a token,
        emitted now: e.g. a prompt, or a progress bar redrawn without a line end."""
        if self._pem_budget or not self._held:
            return b""
        held = bytes(self._held)
        cut = _open_start(held)
        if not cut:
            return b""
        masked, used = self._scan(held[:cut], cut, self._consumed)
        self._held = bytearray(held[used:])
        self._consumed += used
        return masked

    def _scan(self, subject: bytes, cut: int, origin: int) -> tuple[bytes, int]:
        """Mask ``subject[:cut]``, or a little more when a match crosses ``cut``; returns
        the output and how many bytes of ``subject`` it consumed."""
        out: list[bytes] = []
        matches = _Matches(subject)
        pos = 0
        while True:
            if self._pem_budget:
                pos, cut = self._skip_pem(subject, pos, cut)
                if self._pem_budget:
                    return b"".join(out), cut
                out.append(MASK)  # the block is over
                self.pieces.masked(len(MASK), origin + pos - (self._pem_from or 0))
                self._pem_from = None
                continue
            found = matches.after(pos)
            if found is None or found.start() >= cut:
                out.append(subject[pos:cut])
                self.pieces.passed(cut - pos)
                return b"".join(out), cut
            out.append(subject[pos : found.start()])
            self.pieces.passed(found.start() - pos)
            pos = found.end()
            cut = max(cut, pos)
            if found.re is _PEM:
                self._pem_budget, self._pem_from = PEM_LIMIT, origin + found.start()
            else:
                out.append(self._masked(found))

    def _masked(self, found: re.Match[bytes]) -> bytes:
        """``***`` for the whole match, or only for its ``secret`` part (a header's
        credential, a URL's password), keeping what surrounds it."""
        if "secret" not in found.re.groupindex:
            self.pieces.masked(len(MASK), found.end() - found.start())
            return MASK
        start, text = found.start(), found.group(0)
        before, after = text[: found.start("secret") - start], text[found.end("secret") - start :]
        self.pieces.passed(len(before))
        self.pieces.masked(len(MASK), found.end("secret") - found.start("secret"))
        self.pieces.passed(len(after))
        return before + MASK + after

    def _skip_pem(self, subject: bytes, pos: int, cut: int) -> tuple[int, int]:
        """Swallow the inside of a PEM block (already replaced by its ***) up to and
        including its END line, or up to ``cut``, or until the budget runs out."""
        limit = min(cut, pos + self._pem_budget)
        end = _PEM_END.search(subject, pos)
        if end is not None and end.start() < limit:
            self._pem_budget = 0
            return end.end(), max(cut, end.end())
        self._pem_budget -= limit - pos
        return limit, cut


def _has_line_end(data: bytes) -> bool:
    return b"\n" in data or b"\r" in data
