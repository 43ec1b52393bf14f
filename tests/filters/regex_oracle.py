"""The old glob matching, kept as the tests' oracle: globs translated to Python regular expressions.

glob_regex and pattern_regex are copied from src/s3d/filters/evaluate.py as it was before the
linear-time automaton replaced them; token_regex spells tokens the same way. Backtracking, so only
for the short globs and texts the property tests generate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from s3d.filters.globs import Kind, Token
from s3d.filters.rules import PatternPiece


def glob_regex(text: str, quoted: bool, cross_segments: bool) -> str:
    """A glob as a regular expression: '**' any text, '*' any text within a '/' segment, '?' one character."""
    if quoted:
        return re.escape(text)
    any_run, any_char = (".*", ".") if cross_segments else ("[^/]*", "[^/]")
    out = []
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append(any_run)
            i += 1
        elif text[i] == "?":
            out.append(any_char)
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return "".join(out)


def pattern_regex(pieces: Sequence[PatternPiece]) -> str:
    """The rule's pattern over 'bucket/key': a bucket alone, or a pattern ending in '/', covers everything under it."""
    if not pieces:
        return ".*"
    rx = "".join(glob_regex(p.text, p.quoted, cross_segments=False) for p in pieces)
    text = "".join(p.text for p in pieces)
    if "/" not in text:
        rx += "/.*"
    elif text.endswith("/"):
        rx += ".*"
    return rx


def fullmatch(rx: str, text: str) -> bool:
    return re.fullmatch(rx, text, re.DOTALL) is not None


def glob_matches(glob: str, text: str, quoted: bool = False, cross_segments: bool = False) -> bool:
    return fullmatch(glob_regex(glob, quoted, cross_segments), text)


def token_regex(toks: Sequence[Token]) -> str:
    """Tokens spelled as the old translation spelled their glob, to compare languages without the automaton."""
    out = []
    for t in toks:
        if t.kind is Kind.CHAR:
            out.append(re.escape(t.char))
        elif t.kind is Kind.ANY_CHAR:
            out.append("." if t.cross else "[^/]")
        else:
            out.append(".*" if t.cross else "[^/]*")
    return "".join(out)
