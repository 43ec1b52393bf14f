"""The fast path: plain globs matched with str methods, no step per character.

A glob is plain when it has no '?' and either one run (a head and a tail around it, and no '/'
between them for a '*') or only '**' runs (matched as an IAM wildcard: head, middle pieces found
leftmost in order, tail; access/wildcards.py); a glob of literal characters alone is plain too.
Such a glob costs a few C-level comparisons whatever the length of the key.

Within one bucket the 'bucket/' part of every path is known, so a glob is first walked over it:
when that leaves it at one place ('*/reports/*' over 'logs/' leaves 'reports/*'), the rest is
matched against the key alone, and is more often plain than the whole ('*/**.tmp' is not plain,
'**.tmp' is).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from s3d.access.wildcards import ANY_CHAR, Wildcard
from s3d.filters.automaton import Nfa
from s3d.filters.globs import SEP, Kind, Token, compact

NOT_FOUND = -1  # str.find
Match = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Around:
    """``head``, one run (within a segment, or across), ``tail``."""

    head: str
    tail: str
    within_segment: bool

    def matches(self, text: str) -> bool:
        end = len(text) - len(self.tail)
        if end < len(self.head) or not text.startswith(self.head) or not text.endswith(self.tail):
            return False
        return not self.within_segment or text.find(SEP, len(self.head), end) == NOT_FOUND


def plain(glob: Sequence[Token]) -> Match | None:
    """The glob as a str-method matcher, or None when it is not plain."""
    toks = compact(glob)
    runs = [t for t in toks if t.kind is not Kind.CHAR]
    if any(t.kind is Kind.ANY_CHAR for t in runs):
        return None
    if not runs:
        return "".join(t.char for t in toks).__eq__
    pieces = _pieces(toks)
    if len(runs) == 1:
        return Around(pieces[0], pieces[1], within_segment=not runs[0].cross).matches
    if all(t.cross for t in runs) and not any(ANY_CHAR in p for p in pieces):  # a literal '?' would be a wildcard
        return Wildcard(pieces[0], tuple(pieces[1:-1]), pieces[-1], ignore_case=False).fullmatch
    return None


def _pieces(toks: Sequence[Token]) -> list[str]:
    """The literal text between the runs: one piece more than there are runs."""
    out = [""]
    for t in toks:
        if t.kind is Kind.CHAR:
            out[-1] += t.char
        else:
            out.append("")
    return out


def rest(glob: Sequence[Token], prefix: str) -> tuple[Token, ...] | None:
    """What is left of the glob to match once ``prefix`` is matched, when that is one place in it; else None."""
    toks = compact(glob)
    nfa = Nfa([toks])
    positions = nfa.start
    for c in prefix:
        positions = nfa.step(positions, c)
    at = (positions & -positions).bit_length() - 1  # the first position reached (-1: none)
    if at < 0 or positions != nfa.close(1 << at):
        return None
    return toks[at:]


class Plain:
    """Plain globs, each standing for a rule; ``matches`` has the Automaton's form (bit i: rule i matches)."""

    def __init__(self, on_key: dict[int, Match], on_path: dict[int, Match]) -> None:
        self._on_key = tuple((1 << i, m) for i, m in on_key.items())  # matched against the key alone
        self._on_path = tuple((1 << i, m) for i, m in on_path.items())  # matched against 'bucket/key'

    def __len__(self) -> int:
        return len(self._on_key) + len(self._on_path)

    def matches(self, text: str, prefix: str = "") -> int:
        fits = 0
        for bit, matches in self._on_key:
            if matches(text):
                fits |= bit
        if self._on_path:
            path = prefix + text
            for bit, matches in self._on_path:
                if matches(path):
                    fits |= bit
        return fits
