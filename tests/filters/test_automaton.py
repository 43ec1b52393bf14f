"""The glob automaton: what the old regular expressions matched, many globs in one pass, bounded memory, linear time."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3d.filters import Filter, Subject
from s3d.filters.automaton import TRANSITIONS, Automaton
from s3d.filters.globs import Token, pattern, tokens
from s3d.filters.rules import PatternPiece
from tests.filters.glob_strategies import GLOBS, TEXT_CHARS, TEXTS, glob_and_text, pieces_and_text, tokens_and_text
from tests.filters.regex_oracle import fullmatch, glob_matches, pattern_regex, token_regex

EXAMPLES = settings(max_examples=500, deadline=None)
KEY_BYTES = 1024  # S3's longest key
PATHOLOGICAL_SECONDS = 10  # a guard only: the old regular expressions took 40 s for 3 stars and 1,020 characters
SMALL_CACHE = 3  # remembered steps: the cache starts over every few characters
THREADS = 4


def bits(flags: list[bool]) -> int:
    return sum(1 << i for i, f in enumerate(flags) if f)


def one(glob: str, cross: bool = False) -> Automaton:
    return Automaton([tokens(glob, False, cross)])


@EXAMPLES
@given(glob_and_text(), st.booleans(), st.booleans())
def test_one_glob_matches_what_its_regex_matched(glob_text: tuple[str, str], quoted: bool, cross: bool) -> None:
    glob, text = glob_text
    a = Automaton([tokens(glob, quoted, cross)])
    assert a.matches(text) == glob_matches(glob, text, quoted, cross)


@EXAMPLES
@given(tokens_and_text())
def test_any_tokens_match_what_their_regex_matches(tokens_text: tuple[list[Token], str]) -> None:
    toks, text = tokens_text  # runs next to runs too: the automaton compacts them itself
    assert Automaton([toks]).matches(text) == fullmatch(token_regex(toks), text)


@EXAMPLES
@given(st.lists(pieces_and_text(), min_size=1, max_size=6), st.data(), st.sampled_from([1, SMALL_CACHE, TRANSITIONS]))
def test_many_rule_patterns_in_one_pass_match_each_regex(
    rules: list[tuple[list[PatternPiece], str]], data: st.DataObject, transitions: int
) -> None:
    text = data.draw(st.sampled_from([t for _, t in rules]))  # made for one of the patterns, random for the rest
    a = Automaton([pattern(pieces) for pieces, _ in rules], transitions)
    expected = bits([fullmatch(pattern_regex(pieces), text) for pieces, _ in rules])
    assert a.matches(text) == expected
    assert a.matches(text) == expected  # warm: from the remembered steps
    assert a.nfa.run(text) == expected


@EXAMPLES
@given(st.lists(GLOBS, max_size=6), TEXTS, TEXTS)
def test_a_prefix_is_the_same_as_the_text_it_starts(globs: list[str], prefix: str, text: str) -> None:
    a = Automaton([tokens(g, False, False) for g in globs])
    assert a.matches(text, prefix) == a.matches(prefix + text) == a.matches(text, prefix)


def test_no_globs_match_nothing() -> None:
    assert Automaton([]).matches("anything") == 0
    assert Automaton([()]).matches("") == 1 and Automaton([()]).matches("a") == 0


@pytest.mark.parametrize(
    ("glob", "text", "matches"),
    [
        ("a/*", "a/b", True),
        ("a/*", "a/b/c", False),
        ("a/**", "a/b/c", True),
        ("a/?", "a//", False),
        ("*", "", True),
        ("**/x", "/x", True),
        ("é*😀", "é\n😀", True),  # '*' takes a newline (the old DOTALL)
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
    ],
)
def test_examples(glob: str, text: str, matches: bool) -> None:
    assert one(glob).matches(text) == matches


def test_the_cache_stays_under_its_limit_and_keeps_answering_right() -> None:
    globs = ["*a*b*", "**/?b*", "a**?**b", "*/*/*"]
    a = Automaton([tokens(g, False, False) for g in globs], transitions=50)
    for n in range(400):
        text = f"{n:b}".replace("0", "a").replace("1", "b/")
        assert a.matches(text) == a.nfa.run(text)
        assert a.cached_transitions < 50


def test_threads_sharing_a_small_cache_get_the_same_answers() -> None:
    globs = [tokens(g, False, False) for g in ["*a*b*", "**/?b*", "a**?**b", "*/*/*", "**é"]]
    a = Automaton(globs, transitions=SMALL_CACHE)
    texts = ["".join(TEXT_CHARS[(n * 7 + i * 3) % len(TEXT_CHARS)] for i in range(n % 40)) for n in range(300)]
    expected = [a.nfa.run(t) for t in texts]
    wrong: list[str] = []

    def work() -> None:
        wrong.extend(t for t, e in zip(texts, expected, strict=True) if a.matches(t) != e)

    workers = [threading.Thread(target=work) for _ in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert wrong == []


@pytest.mark.timeout(PATHOLOGICAL_SECONDS)
@pytest.mark.parametrize(
    ("glob", "text"),
    [
        ("*a" * 8 + "*b", "a" * KEY_BYTES),  # exponential for a backtracking matcher
        ("**a" * 8 + "**b", "a" * KEY_BYTES),
        ("**/**/**/**/**/**/**/**/x", "/" * KEY_BYTES),  # nested '**' against slashes
        ("*/" * 8 + "*.secret", "/" * KEY_BYTES),
        ("?*" * 64 + "b", "a" * KEY_BYTES),
        ("*é" * 16 + "*b", "é" * KEY_BYTES),
    ],
)
def test_pathological_globs_answer_quickly(glob: str, text: str) -> None:
    assert one(glob).matches(text) == 0
    assert one(glob, cross=True).matches(text) == 0


@pytest.mark.timeout(PATHOLOGICAL_SECONDS)
def test_a_filter_of_pathological_rules_decides_quickly() -> None:
    rules = [f"- b/{'*a' * n}*b" for n in range(1, 9)] + ["- b/" + "**a" * 8 + "**b", "- *[tag:t=" + "*a" * 8 + "*b]"]
    f = Filter.parse("\n".join(rules))
    key = "a" * (KEY_BYTES - 1)
    assert f.decide(Subject("b", key, tags={"t": "a" * KEY_BYTES})).rule is None
    assert f.decide(Subject("b", key + "b")).index == 0
    for n in range(KEY_BYTES):  # many distinct keys through one bounded cache
        assert f.decide(Subject("b", "a" * n + "/" + "a" * (KEY_BYTES - n - 1))).rule is None
