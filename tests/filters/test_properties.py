"""Property tests: no text makes the parser fail with anything but FilterError; decide agrees with explain and with
the old regular expressions."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.filters import Condition, Field, Filter, FilterError, Op, Rule, Subject, evaluate, parse
from s3d.filters.evaluate import predicate
from s3d.filters.rules import PatternPiece
from tests.filters.glob_strategies import glob_and_text, pieces_and_text
from tests.filters.regex_oracle import fullmatch, glob_matches, pattern_regex

ALPHABET = st.sampled_from(list("ab/*?-+[]:=!<>;#'\" \n\ttagbtagmdhdrsizeage0123456789KMiBd.x_"))
FILTERISH = st.lists(ALPHABET, max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_raises_only_filter_errors(text: str) -> None:
    try:
        parse(text)
    except FilterError as e:
        assert e.line >= 1 and e.column >= 1


@settings(max_examples=600, deadline=None)
@given(FILTERISH)
def test_filter_like_text_raises_only_filter_errors_with_positions_inside_the_text(text: str) -> None:
    try:
        f = Filter.parse(text)  # parsed and compiled
    except FilterError as e:
        lines = text.split("\n")
        assert 1 <= e.line <= len(lines)
        assert 1 <= e.column <= len(lines[e.line - 1]) + 1
        return
    rules = f.rules
    assert [r.text() for r in parse("\n".join(r.text() for r in rules))] == [r.text() for r in rules]
    f.decide(Subject("ab", "a/b.tmp", size=5, tags={"a": "1"}, meta={"x-amz-meta-a": "2"}))  # never raises


KEYS = st.lists(st.sampled_from(["a", "b", "x.tmp", "dir", "*"]), min_size=1, max_size=4).map("/".join)
RULE = st.tuples(
    st.sampled_from(["+", "-"]),
    st.sampled_from(["b", "c", "*", "b/dir/", "b/*", "b/**", "*/dir/*", "**.tmp", "b/?"]),
    st.sampled_from(["", "[tag:t=1]", "[size>5]", "[btag:tier=cold]", "[md:p!=x]"]),
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(RULE, max_size=12), st.sampled_from(["b", "c"]), KEYS, st.sampled_from([{}, {"t": "1"}]),
       st.integers(0, 10), st.sampled_from([{}, {"tier": "cold"}]))  # fmt: skip
def test_fast_decision_agrees_with_the_rule_by_rule_explanation(
    rules: list[str], bucket: str, key: str, tags: dict[str, str], size: int, btags: dict[str, str]
) -> None:
    f = Filter.parse("\n".join(rules))
    s = Subject(bucket, key, size=size, tags=tags, bucket_tags=btags)
    assert f.decide(s, 0.0) == f.explain(s, 0.0)[0]


ALWAYS, NEVER = 0, 1 << 20  # key lengths from which plain patterns are matched with str methods


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces_and_text(), max_size=8), st.data(), st.sampled_from([ALWAYS, NEVER]))
def test_decisions_are_those_of_the_old_regular_expressions(
    rules: list[tuple[list[PatternPiece], str]], data: st.DataObject, plain_rule_steps: int
) -> None:
    paths = [t for _, t in rules if "/" in t] or ["b/k"]
    bucket, _, key = data.draw(st.sampled_from(paths)).partition("/")
    path = f"{bucket}/{key}"
    first = next((i for i, (pieces, _) in enumerate(rules) if fullmatch(pattern_regex(pieces), path)), None)
    with patch.object(evaluate, "PLAIN_RULE_STEPS", plain_rule_steps):  # the fast path, or the automaton
        f = Filter([Rule(i % 2 == 0, tuple(pieces), (), 1, 1) for i, (pieces, _) in enumerate(rules)])
        assert f.decide(Subject(bucket, key)).index == first


@settings(max_examples=400, deadline=None)
@given(glob_and_text(), st.booleans(), st.sampled_from([Op.EQ, Op.NE]))
def test_condition_values_match_what_the_old_regular_expressions_matched(
    glob_text: tuple[str, str], quoted: bool, op: Op
) -> None:
    value, text = glob_text
    holds = predicate(Condition(Field.TAG, "t", op, value, quoted, None, 1, 1))
    matched = glob_matches(value, text, quoted, cross_segments=True)
    assert holds(Subject("b", "k", tags={"t": text}), 0.0) is (matched if op is Op.EQ else not matched)
