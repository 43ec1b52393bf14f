"""The fast path: plain globs matched with str methods agree with the old regular expressions, whole or after a prefix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.filters.globs import pattern, tokens
from s3d.filters.rules import PatternPiece
from s3d.filters.simple import Plain, plain, rest
from tests.filters.glob_strategies import TEXTS, glob_and_text, pieces_and_text
from tests.filters.regex_oracle import fullmatch, glob_matches, pattern_regex

EXAMPLES = settings(max_examples=500, deadline=None)
KEY_BYTES = 1024  # S3's longest key
PATHOLOGICAL_SECONDS = 10  # a guard only


@pytest.mark.parametrize(
    ("glob", "is_plain"),
    [
        ("logs/x", True),
        ("logs/*.tmp", True),
        ("**.tmp", True),
        ("a**b**c", True),
        ("*/*", False),  # two runs within segments
        ("*/**", False),  # a run within a segment and one across
        ("a?", False),
    ],
)
def test_which_globs_are_plain(glob: str, is_plain: bool) -> None:
    assert (plain(tokens(glob, False, False)) is not None) == is_plain


@pytest.mark.parametrize(
    ("glob", "text", "matches"),
    [
        ("ab*ba", "aba", False),  # head and tail may not overlap
        ("ab*ba", "abba", True),
        ("ab**ba", "aba", False),
        ("a/*.tmp", "a/b/c.tmp", False),
        ("a/**.tmp", "a/b/c.tmp", True),
        ("a/x", "a/x/", False),
    ],
)
def test_plain_examples(glob: str, text: str, matches: bool) -> None:
    match = plain(tokens(glob, False, False))
    assert match is not None and match(text) == matches


def test_a_quoted_question_mark_is_plain_but_between_many_runs() -> None:
    assert plain(tokens("**a**", False, False) + tokens("?", True, False)) is None  # IAM wildcards would read it as any
    assert plain(tokens("**", False, False) + tokens("?", True, False)) is not None  # one run: head and tail
    assert plain(tokens("a?", True, False)) is not None  # literal text alone is fine


@pytest.mark.parametrize(
    ("glob", "prefix", "left"),
    [
        ("*/reports/*", "logs/", "reports/*"),
        ("*/**.tmp", "logs/", "**.tmp"),
        ("logs/**", "logs/", "**"),
        ("**.tmp", "logs/", "**.tmp"),
        ("**/x", "a/b/", None),  # after '**/' or inside '**': more than one place
        ("data/*", "logs/", None),  # no place at all
    ],
)
def test_rest_after_a_prefix(glob: str, prefix: str, left: str | None) -> None:
    expected = None if left is None else tuple(tokens(left, False, False))
    assert rest(tokens(glob, False, False), prefix) == expected


@EXAMPLES
@given(glob_and_text(), st.booleans())
def test_plain_globs_match_what_their_regex_matched(glob_text: tuple[str, str], quoted: bool) -> None:
    glob, text = glob_text
    match = plain(tokens(glob, quoted, False))
    if match is not None:
        assert match(text) == glob_matches(glob, text, quoted)


@EXAMPLES
@given(pieces_and_text(), st.integers(0, 4))
def test_the_rest_after_a_prefix_matches_what_the_whole_matched(
    pieces_text: tuple[list[PatternPiece], str], cut: int
) -> None:
    pieces, path = pieces_text
    prefix, key = path[:cut], path[cut:]
    left = rest(pattern(pieces), prefix)
    match = plain(left) if left is not None else None
    if match is not None:
        assert match(key) == fullmatch(pattern_regex(pieces), path)


@EXAMPLES
@given(st.lists(pieces_and_text(), max_size=5), TEXTS)
def test_plain_rules_together_give_the_bits_of_those_that_match(
    rules: list[tuple[list[PatternPiece], str]], prefix: str
) -> None:
    on_path = {i: m for i, (pieces, _) in enumerate(rules) if (m := plain(pattern(pieces))) is not None}
    for _, path in rules:
        expected = sum(1 << i for i in on_path if fullmatch(pattern_regex(rules[i][0]), prefix + path))
        assert Plain({}, on_path).matches(path, prefix) == expected


@pytest.mark.timeout(PATHOLOGICAL_SECONDS)
@pytest.mark.parametrize("glob", ["**a" * 16 + "**b", "a" * 64 + "*b", "**" + "a" * 512 + "**b"])
def test_pathological_plain_globs_answer_quickly(glob: str) -> None:
    match = plain(tokens(glob, False, False))
    assert match is not None and not match("a" * KEY_BYTES)
