"""The local-read header: what the daemon writes, the mount reads back exactly; anything else is refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from s3d.local_read import MAX_SPANS, LocalSpan, decode, encode

paths = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1).map(
    lambda t: "/" + t
)
spans = st.lists(st.builds(LocalSpan, paths, st.integers(1, 2**63 - 1)), min_size=1, max_size=MAX_SPANS)


@given(spans)
def test_decode_gives_back_what_encode_wrote(named: list[LocalSpan]) -> None:
    assert decode(encode(named)) == tuple(named)


@given(st.text())
def test_decode_of_any_text_is_spans_or_none(text: str) -> None:
    got = decode(text)
    assert got is None or (encode(list(got)) == text and all(s.path.startswith("/") and s.size > 0 for s in got))


def test_a_relative_path_is_refused() -> None:
    assert decode("blobs/ab/abc 10") is None


def test_more_spans_than_the_limit_are_refused() -> None:
    assert decode(encode([LocalSpan("/b", 1)] * (MAX_SPANS + 1))) is None


def test_a_zero_length_is_refused() -> None:
    assert decode("/data/blobs/ab/abc 0") is None
