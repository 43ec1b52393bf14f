"""Many globs matched against one text in one pass, in linear time: a bit-parallel NFA behind a bounded DFA cache.

A glob of n tokens has n + 1 positions: "the first i tokens are matched", the last one meaning the
glob is matched. Every position of every glob is one bit of a Python int, so the set of positions
a text prefix can reach is one int and a character moves all of them at once: a token that takes
the character advances its bit by one, a run that takes it keeps its bit, and a run may also be
skipped (the closure: globs are compacted first, so no run follows a run and one shift closes the
set). Nothing is ever retried, so a text costs len(text) steps of O(total positions) bit operations,
where a backtracking regular expression can cost len(text) ** (number of stars).

The sets met are kept as they come (the states of a DFA) and each (state, character) step is
remembered, so a warm match is one dict lookup per character. The memory is bounded: after
TRANSITIONS remembered steps (fewer when the position sets are large, see CACHE_BITS) the next
match starts a new, empty cache; a match already running finishes on the old one, adding at most
one step per character of its text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from s3d.filters.globs import SEP, Kind, Token, compact

TRANSITIONS = 16_384  # remembered (state, character) steps before the cache starts over
CACHE_BITS = 1 << 27  # 16 MiB of position sets: globs with many positions remember fewer steps


@dataclass(frozen=True, slots=True)
class Moves:
    """What one character does to a set of positions."""

    advance: int  # positions whose token takes the character and moves on to the next position
    stay: int  # positions of runs that take the character and stay


class Nfa:
    """The globs' positions as bits; ``step`` moves a set of them over one character."""

    def __init__(self, globs: Sequence[Sequence[Token]]) -> None:
        starts = skips = 0
        chars: dict[str, int] = {}  # character -> the positions of tokens that are exactly it
        any_char = {True: 0, False: 0}  # crossing or not -> positions of '?' tokens
        any_run = {True: 0, False: 0}  # crossing or not -> positions of runs
        self.accepts: list[int] = []  # per glob, the bit of its last position
        base = 0
        for glob in map(compact, globs):
            starts |= 1 << base
            for i, t in enumerate(glob):
                bit = 1 << (base + i)
                if t.kind is Kind.CHAR:
                    chars[t.char] = chars.get(t.char, 0) | bit
                elif t.kind is Kind.ANY_CHAR:
                    any_char[t.cross] |= bit
                else:
                    any_run[t.cross] |= bit
                    skips |= bit
            self.accepts.append(1 << (base + len(glob)))
            base += len(glob) + 1
        self.positions = base
        self._skips = skips
        self._any_accept = sum(self.accepts)
        self._other = Moves(any_char[True] | any_char[False], any_run[True] | any_run[False])
        self._moves = {c: Moves(bits | self._other.advance, self._other.stay) for c, bits in chars.items()}
        self._moves[SEP] = Moves(chars.get(SEP, 0) | any_char[True], any_run[True])
        self.start = self.close(starts)

    def close(self, positions: int) -> int:
        """The positions plus those reached by skipping a run (runs are never adjacent: one skip is all)."""
        return positions | ((positions & self._skips) << 1)

    def step(self, positions: int, c: str) -> int:
        m = self._moves.get(c, self._other)
        return self.close(((positions & m.advance) << 1) | (positions & m.stay))

    def matched(self, positions: int) -> int:
        """The globs matched in a set of positions, as bits: bit i set when glob i is matched."""
        if not positions & self._any_accept:
            return 0
        return sum(1 << i for i, bit in enumerate(self.accepts) if positions & bit)

    def run(self, text: str) -> int:
        """The globs that match all of ``text``, without a cache (the reference the DFA is tested against)."""
        positions = self.start
        for c in text:
            positions = self.step(positions, c)
        return self.matched(positions)


@dataclass(frozen=True, slots=True)
class State:
    """A state of the DFA: the set of positions it stands for, and the globs matched there."""

    positions: int
    matched: int  # bit i set: glob i is matched


# A DFA state as the cache keeps it: a dict from each character seen there to the next Row, and
# under the key STATE (not one character, so never a character's key) the State itself. One dict
# lookup per character is all a warm match costs.
Row = dict[str, Any]
STATE = "state"


@dataclass(slots=True)
class _Cache:
    """One generation of the DFA: its states by set of positions, and where each prefix leads."""

    rows: dict[int, Row] = field(default_factory=dict)  # set of positions -> its row
    after: dict[str, Row] = field(default_factory=dict)  # a prefix -> the row the start state reaches over it
    transitions: int = 0  # steps remembered, prefixes included


class Automaton:
    """Compiled globs; ``matches(text)`` gives those that match all of it, as bits (bit i: glob i)."""

    def __init__(self, globs: Sequence[Sequence[Token]], transitions: int = TRANSITIONS) -> None:
        self.nfa = Nfa(globs)
        self._limit = max(1, min(transitions, CACHE_BITS // max(1, self.nfa.positions)))
        self._lock = threading.Lock()  # taken to learn a step, never to follow one
        self._cache = _Cache()

    def _row(self, cache: _Cache, positions: int) -> Row:
        row = cache.rows.get(positions)
        if row is None:
            row = cache.rows[positions] = {STATE: State(positions, self.nfa.matched(positions))}
        return row

    def _remembered(self, cache: _Cache) -> None:
        """Count one more step; a full cache is replaced for the matches that start from now on."""
        cache.transitions += 1
        if cache.transitions >= self._limit and cache is self._cache:
            self._cache = _Cache()

    def _learn(self, cache: _Cache, row: Row, c: str) -> Row:
        """The step from ``row`` over ``c``, worked out on the NFA and remembered."""
        with self._lock:
            nxt = row[c] = self._row(cache, self.nfa.step(row[STATE].positions, c))
            self._remembered(cache)
            return nxt

    def _start(self, cache: _Cache, prefix: str) -> Row:
        """The row the start state reaches over ``prefix``, remembered."""
        positions = self.nfa.start
        for c in prefix:
            positions = self.nfa.step(positions, c)
        with self._lock:
            row = cache.after[prefix] = self._row(cache, positions)
            self._remembered(cache)
            return row

    def matches(self, text: str, prefix: str = "") -> int:
        """The globs that match all of ``prefix + text``; a prefix used often (a bucket) is walked once."""
        cache = self._cache
        row = cache.after.get(prefix) or self._start(cache, prefix)
        for c in text:
            try:
                row = row[c]
            except KeyError:
                row = self._learn(cache, row, c)
        matched: int = row[STATE].matched
        return matched

    @property
    def cached_transitions(self) -> int:
        """The steps the current cache remembers (for tests: it stays below the limit)."""
        return self._cache.transitions
