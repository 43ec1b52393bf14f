"""Filter globs as tokens: the same language as the old glob-to-regex translation, for globs, rules and compaction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.filters.globs import EVERYTHING, SLASH, Kind, Token, compact, pattern, tokens
from s3d.filters.rules import PatternPiece
from tests.filters.glob_strategies import glob_and_text, pieces_and_text, tokens_and_text
from tests.filters.regex_oracle import fullmatch, glob_regex, pattern_regex, token_regex

EXAMPLES = settings(max_examples=500, deadline=None)

SEGMENT_RUN = Token(Kind.ANY_RUN)
SEGMENT_CHAR = Token(Kind.ANY_CHAR)


def chars(text: str) -> list[Token]:
    return [Token(Kind.CHAR, c) for c in text]


@pytest.mark.parametrize(
    ("glob", "quoted", "cross", "expected"),
    [
        ("a*b", False, False, [*chars("a"), SEGMENT_RUN, *chars("b")]),
        ("a**b", False, False, [*chars("a"), EVERYTHING, *chars("b")]),
        ("***", False, False, [EVERYTHING, SEGMENT_RUN]),  # '**' first, then '*', as the regex translation read it
        ("a?", False, False, [*chars("a"), SEGMENT_CHAR]),
        ("*?", False, True, [EVERYTHING, Token(Kind.ANY_CHAR, cross=True)]),  # condition values cross segments
        ("a*?[b]", True, False, chars("a*?[b]")),  # quoted: all literal
        ("[ab]", False, False, chars("[ab]")),  # brackets are plain characters: no classes
        ("", False, False, []),
    ],
)
def test_tokens(glob: str, quoted: bool, cross: bool, expected: list[Token]) -> None:
    assert tokens(glob, quoted, cross) == expected


def test_compact_joins_adjacent_runs_crossing_when_either_crosses() -> None:
    assert compact([SEGMENT_RUN, SEGMENT_RUN]) == (SEGMENT_RUN,)
    assert compact([SEGMENT_RUN, EVERYTHING, SEGMENT_RUN]) == (EVERYTHING,)
    assert compact([SEGMENT_RUN, SEGMENT_CHAR, SEGMENT_RUN]) == (SEGMENT_RUN, SEGMENT_CHAR, SEGMENT_RUN)


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ((), (EVERYTHING,)),  # conditions only: every object
        ((PatternPiece("logs", False),), (*chars("logs"), SLASH, EVERYTHING)),  # a bucket alone: all in it
        ((PatternPiece("logs/dir/", False),), (*chars("logs/dir/"), EVERYTHING)),  # a trailing '/': all below
        ((PatternPiece("b/*", False), PatternPiece("*x", True)), (*chars("b/"), SEGMENT_RUN, *chars("*x"))),
    ],
)
def test_pattern(pieces: tuple[PatternPiece, ...], expected: tuple[Token, ...]) -> None:
    assert pattern(pieces) == expected


@EXAMPLES
@given(glob_and_text(), st.booleans(), st.booleans())
def test_tokens_match_what_the_regex_translation_matched(glob_text: tuple[str, str], quoted: bool, cross: bool) -> None:
    glob, text = glob_text
    toks = tokens(glob, quoted, cross)
    assert fullmatch(token_regex(toks), text) == fullmatch(glob_regex(glob, quoted, cross), text)


@EXAMPLES
@given(tokens_and_text())
def test_compacting_keeps_the_language(tokens_text: tuple[list[Token], str]) -> None:
    toks, text = tokens_text
    compacted = compact(toks)
    assert not any(a.kind is b.kind is Kind.ANY_RUN for a, b in zip(compacted, compacted[1:], strict=False))
    assert fullmatch(token_regex(compacted), text) == fullmatch(token_regex(toks), text)


@EXAMPLES
@given(pieces_and_text())
def test_rule_patterns_match_what_the_regex_translation_matched(pieces_text: tuple[list[PatternPiece], str]) -> None:
    pieces, text = pieces_text
    assert fullmatch(token_regex(pattern(pieces)), text) == fullmatch(pattern_regex(pieces), text)
