"""Filter globs as tokens: one character, any one character, or any run of characters.

The dialect (docs/filters.md): '**' is any run of characters, '/' included; '*' is any run within
one '/' segment and '?' any one character but '/' (a condition value crosses segments: there '*'
is any run and '?' any character). Everything else, quoted text entirely, is a literal character:
there are no character classes ('[' and ']' cannot appear unquoted in a pattern, see grammar.lark).
A rule's pattern is its pieces' tokens, then what a bare bucket or a trailing '/' covers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from s3d.filters.rules import PatternPiece

SEP = "/"  # the segment separator of 'bucket/key'
GLOBSTAR = "**"
STAR = "*"
ANY = "?"


class Kind(Enum):
    CHAR = "char"  # exactly the token's character
    ANY_CHAR = "any character"  # any one character ('/' only when the token crosses segments)
    ANY_RUN = "any run"  # any run of characters, empty included ('/' only when crossing)


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    char: str = ""  # the character of a CHAR token
    cross: bool = False  # whether an ANY_CHAR or ANY_RUN token takes '/'

    def takes(self, c: str) -> bool:
        """Whether the token consumes the character ``c``."""
        if self.kind is Kind.CHAR:
            return c == self.char
        return self.cross or c != SEP


EVERYTHING = Token(Kind.ANY_RUN, cross=True)  # '**'
SLASH = Token(Kind.CHAR, SEP)


def tokens(text: str, quoted: bool, cross_segments: bool) -> list[Token]:
    """A glob's tokens: '**' any run, '*' any run within a segment, '?' one character (not '/'), else literal.

    With ``cross_segments`` '*' and '?' take '/' too. Quoted text is literal throughout.
    """
    if quoted:
        return [Token(Kind.CHAR, c) for c in text]
    out = []
    i = 0
    while i < len(text):
        if text.startswith(GLOBSTAR, i):
            out.append(EVERYTHING)
            i += len(GLOBSTAR)
            continue
        c = text[i]
        if c == STAR:
            out.append(Token(Kind.ANY_RUN, cross=cross_segments))
        elif c == ANY:
            out.append(Token(Kind.ANY_CHAR, cross=cross_segments))
        else:
            out.append(Token(Kind.CHAR, c))
        i += 1
    return out


def compact(toks: Iterable[Token]) -> tuple[Token, ...]:
    """The same glob with no two runs in a row: adjacent runs are one run, crossing if either crosses."""
    out: list[Token] = []
    for t in toks:
        if t.kind is Kind.ANY_RUN and out and out[-1].kind is Kind.ANY_RUN:
            if t.cross:
                out[-1] = t
            continue
        out.append(t)
    return tuple(out)


def pattern(pieces: Sequence[PatternPiece]) -> tuple[Token, ...]:
    """A rule's pattern over 'bucket/key': a bucket alone, or a pattern ending in '/', covers everything under it."""
    if not pieces:
        return (EVERYTHING,)
    out = [t for p in pieces for t in tokens(p.text, p.quoted, cross_segments=False)]
    text = "".join(p.text for p in pieces)
    if SEP not in text:
        out += [SLASH, EVERYTHING]
    elif text.endswith(SEP):
        out.append(EVERYTHING)
    return tuple(out)
