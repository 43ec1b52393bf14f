"""Hypothesis strategies for globs and the texts to match them against: random, or made to nearly match."""

from __future__ import annotations

from hypothesis import strategies as st

from s3d.filters.globs import Kind, Token
from s3d.filters.rules import PatternPiece

# Glob parts and text characters: separators, wildcards, regular-expression metacharacters (plain here),
# brackets (no character classes in this dialect), a newline, and characters beyond Latin-1.
WILDCARDS = ["*", "**", "?"]
GLOB_PARTS = ["a", "b", "/", ".", "[", "]", "[a]", "\\", "^", "$", "+", "(", "|", "\n", "é", "😀", *WILDCARDS]
TEXT_CHARS = "ab/.[]\\^$+(|\né😀*?"
TEXTS = st.text(TEXT_CHARS, max_size=12)
PARTS = st.lists(st.sampled_from(GLOB_PARTS), max_size=8)
GLOBS = PARTS.map("".join)
FILL = st.one_of(st.sampled_from("/a"), st.sampled_from(TEXT_CHARS))  # what a wildcard takes: often a '/'
TAILS = st.one_of(st.just(""), TEXTS, TEXTS.map("/".__add__))  # what a bucket alone or a trailing '/' covers


@st.composite
def near_text(draw: st.DrawFn, parts: list[str], quoted: bool = False) -> str:
    """A text made from the glob's parts, each wildcard filled with random text ('/' included): often a match."""
    out = []
    for part in parts:
        if part in WILDCARDS and not quoted:
            fill = FILL if part == "?" else st.lists(FILL, max_size=4).map("".join)
            out.append(draw(fill))
        else:
            out.append(part)
    return "".join(out)


@st.composite
def glob_and_text(draw: st.DrawFn) -> tuple[str, str]:
    """A glob, and a text that is random or made from the glob."""
    parts = draw(PARTS)
    text = draw(st.one_of(TEXTS, near_text(parts)))
    return "".join(parts), text


@st.composite
def pieces_and_text(draw: st.DrawFn) -> tuple[list[PatternPiece], str]:
    """A rule's pattern pieces, and a 'bucket/key' that is random or made from them."""
    pieces: list[PatternPiece] = []
    near = []
    for parts in draw(st.lists(PARTS.filter(bool), max_size=3)):
        quoted = draw(st.booleans())
        pieces.append(PatternPiece("".join(parts), quoted))
        near.append(draw(near_text(parts, quoted)))
    text = draw(st.one_of(TEXTS, st.just("".join(near)))) + draw(TAILS)
    return pieces, text


TOKEN = st.one_of(
    st.sampled_from("a/é").map(lambda c: Token(Kind.CHAR, c)),
    st.builds(Token, st.sampled_from([Kind.ANY_CHAR, Kind.ANY_RUN]), st.just(""), st.booleans()),
)
TOKENS = st.lists(TOKEN, max_size=8)


@st.composite
def tokens_and_text(draw: st.DrawFn) -> tuple[list[Token], str]:
    """Tokens in any order (runs next to runs too), and a text that is random or made from them."""
    toks = draw(TOKENS)
    near = []
    for t in toks:
        if t.kind is Kind.CHAR:
            near.append(t.char)
        else:
            near.append(draw(FILL if t.kind is Kind.ANY_CHAR else st.lists(FILL, max_size=4).map("".join)))
    return toks, draw(st.one_of(TEXTS, st.just("".join(near))))
