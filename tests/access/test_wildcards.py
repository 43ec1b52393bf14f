"""IAM wildcards in bucket policies: '*' any run (slashes included), '?' one character, all else literal; linear time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.access.policy import wildcard

# Small alphabets so that patterns and texts often meet; regular-expression metacharacters are literal in IAM.
PATTERN_CHARS = "ab/*?.[]\\^$+(|"
TEXT_CHARS = "abAB/*?.[]\\^$+(|"
EXAMPLES = settings(max_examples=400, deadline=None)
KEY_BYTES = 1024  # S3's longest key
PATHOLOGICAL_SECONDS = 10  # the backtracking matcher took 32 s for 4 stars and 1,000 slashes; this takes milliseconds


def reference(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """The semantics, spelled as a backtracking regular expression (fine for short inputs)."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if ignore_case else 0)
    return re.fullmatch(body, text, flags) is not None


@EXAMPLES
@given(st.text(PATTERN_CHARS, max_size=10), st.text(TEXT_CHARS, max_size=14))
def test_wildcard_agrees_with_the_reference(pattern: str, text: str) -> None:
    assert bool(wildcard(pattern).fullmatch(text)) == reference(pattern, text)


@EXAMPLES
@given(st.text(PATTERN_CHARS + "AB", max_size=10), st.text(TEXT_CHARS, max_size=14))
def test_wildcard_ignoring_case_agrees_with_the_reference(pattern: str, text: str) -> None:
    assert bool(wildcard(pattern, ignore_case=True).fullmatch(text)) == reference(pattern, text, ignore_case=True)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", True),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/ab", False),
        ("a.c", "abc", False),
        ("a[b]c", "a[b]c", True),
        ("*", "", True),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "aXcYb", False),
        ("a?*?c", "abc", False),
    ],
)
def test_wildcard_examples(pattern: str, text: str, matches: bool) -> None:
    assert bool(wildcard(pattern).fullmatch(text)) == matches


@pytest.mark.timeout(PATHOLOGICAL_SECONDS)
def test_many_stars_against_a_key_of_slashes_is_quick() -> None:
    pattern = "arn:aws:s3:::atk/" + "*/" * 8 + "*.secret"
    assert not wildcard(pattern).fullmatch("arn:aws:s3:::atk/" + "/" * KEY_BYTES)
