"""IAM wildcards ('*' any run of characters, '/' included; '?' any one character) matched in linear time.

A pattern is split once at its stars into pieces: the text must start with the first piece, end
with the last, and hold the others in order in between. Taking each middle piece at its leftmost
place is always right (it leaves the most room for the rest), so nothing is ever retried: a match
costs at most len(text) * len(pattern) character comparisons, where a backtracking regular
expression costs len(text) ** (number of stars).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

STAR = "*"
ANY_CHAR = "?"
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
NOT_FOUND = -1


def _fold(text: str, ignore_case: bool) -> str:
    """ASCII case folding (it keeps the length, so '?' still means one character)."""
    return text.translate(ASCII_LOWER) if ignore_case else text


def _fits(piece: str, text: str, at: int) -> bool:
    """Whether ``piece`` ('?' any one character) matches ``text`` at offset ``at`` (in bounds)."""
    if ANY_CHAR not in piece:
        return text.startswith(piece, at)
    for i, c in enumerate(piece):
        if c != ANY_CHAR and c != text[at + i]:
            return False
    return True


def _find(piece: str, text: str, start: int, end: int) -> int:
    """The leftmost offset in text[start:end] where ``piece`` fits, or NOT_FOUND."""
    if ANY_CHAR not in piece:
        return text.find(piece, start, end)
    for at in range(start, end - len(piece) + 1):
        if _fits(piece, text, at):
            return at
    return NOT_FOUND


@dataclass(frozen=True, slots=True)
class Wildcard:
    """One compiled IAM wildcard pattern; ``fullmatch(text)`` says whether all of ``text`` matches."""

    head: str  # before the first star (the whole pattern when it has none)
    middle: tuple[str, ...]  # between stars, empty pieces dropped
    tail: str | None  # after the last star; None: the pattern has no star
    ignore_case: bool

    @classmethod
    def compile(cls, pattern: str, ignore_case: bool = False) -> Wildcard:
        pieces = _fold(pattern, ignore_case).split(STAR)
        if len(pieces) == 1:
            return cls(pieces[0], (), None, ignore_case)
        return cls(pieces[0], tuple(p for p in pieces[1:-1] if p), pieces[-1], ignore_case)

    def fullmatch(self, text: str) -> bool:
        text = _fold(text, self.ignore_case)
        if self.tail is None:
            return len(text) == len(self.head) and _fits(self.head, text, 0)
        start, end = len(self.head), len(text) - len(self.tail)
        if end < start or not _fits(self.head, text, 0) or not _fits(self.tail, text, end):
            return False
        for piece in self.middle:
            at = _find(piece, text, start, end)
            if at == NOT_FOUND:
                return False
            start = at + len(piece)
        return True
