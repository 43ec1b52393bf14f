"""The filter grammar: what parses (and how it prints back), and where each error is reported."""

from __future__ import annotations

import pytest

from s3d.filters import Field, Filter, FilterError, Op, parse

ISSUE_EXAMPLE = """\
- logs/*.tmp
+ photos/raw/*[tag:review!=pending][hdr:content-length<100MiB]
+ *[md:project=apollo]/reports/*[hdr:content-type='application/pdf']
- *[btag:tier=cold]          # bucket tags
+ data/2026-*[age>7d]
"""


def test_issue_example_parses_to_five_rules_in_canonical_form() -> None:
    assert [r.text() for r in parse(ISSUE_EXAMPLE)] == [
        "- logs/*.tmp",
        "+ photos/raw/*[tag:review!=pending][hdr:content-length<100MiB]",
        "+ */reports/*[md:project=apollo][hdr:content-type='application/pdf']",
        "- *[btag:tier=cold]",
        "+ data/2026-*[age>7d]",
    ]


def test_rules_separated_by_semicolons_newlines_and_blank_lines() -> None:
    rules = parse("a/x; - b/y\n\n  ;; c/z  \n")
    assert [(r.include, r.pattern, r.line, r.column) for r in rules] == [
        (True, "a/x", 1, 1),
        (False, "b/y", 1, 6),
        (True, "c/z", 3, 6),
    ]


def test_comments_start_at_line_start_or_after_space_but_not_inside_a_pattern() -> None:
    rules = parse("# only a comment\n- logs/#keep # a comment\n+ a/b;# another")
    assert [r.text() for r in rules] == ["- logs/#keep", "+ a/b"]


def test_sign_is_optional_and_defaults_to_include() -> None:
    (rule,) = parse("photos/**")
    assert rule.include and rule.sign == "+"


def test_sign_may_touch_the_pattern() -> None:
    assert [r.text() for r in parse("-logs/*.tmp\n+keep/*")] == ["- logs/*.tmp", "+ keep/*"]


def test_a_pattern_starting_with_a_hash_prints_touching_its_sign_and_parses_back() -> None:
    (rule,) = parse("-#x")  # after a sign '#' starts a pattern, after a space a comment
    assert rule.text() == "-#x" and [r.text() for r in parse(rule.text())] == ["-#x"]


def test_conditions_only_rule_matches_everything() -> None:
    (rule,) = parse("- [size>=1GiB]")
    assert rule.pattern == "" and rule.conditions[0].number == 1024**3


def test_quoted_pattern_and_values() -> None:
    (rule,) = parse("""+ 'my bucket/a b*'[md:note="it's"][tag:'odd key'=x]""")
    assert rule.pieces[0].quoted and rule.pieces[0].text == "my bucket/a b*"
    assert rule.conditions[0].value == "it's" and rule.conditions[0].quoted
    assert rule.conditions[1].name == "odd key"
    assert rule.text() == """+ 'my bucket/a b*'[md:note="it's"][tag:'odd key'=x]"""
    assert [r.text() for r in parse(rule.text())] == [rule.text()]  # the canonical form parses back to itself


def test_whitespace_inside_conditions_is_allowed() -> None:
    (rule,) = parse("a/*[ tag:x != y ][ size < 5MB ]")
    assert [(c.field, c.name, c.op, c.value) for c in rule.conditions] == [
        (Field.TAG, "x", Op.NE, "y"),
        (Field.SIZE, None, Op.LT, "5MB"),
    ]
    assert rule.conditions[1].number == 5_000_000


def test_units() -> None:
    sizes = [
        c.number
        for c in parse("[size<1024][size<1K][size<1KiB][size<1KB][size<2.5MiB][size<1GB][size<1TiB]")[0].conditions
    ]
    assert sizes == [1024, 1024, 1024, 1000, 2.5 * 1024**2, 1e9, 1024**4]
    ages = [c.number for c in parse("[age>90][age>90s][age>30m][age>12h][age>7d][age>2w]")[0].conditions]
    assert ages == [90, 90, 1800, 43200, 604800, 1209600]


def test_header_and_metadata_names_are_case_insensitive() -> None:
    (rule,) = parse("a[hdr:Content-Type=text/plain][md:Project=x]")
    assert [c.name for c in rule.conditions] == ["content-type", "project"]


def test_empty_filter_has_no_rules_and_includes_everything() -> None:
    assert parse("") == [] and parse("  # nothing\n\n;") == []
    assert Filter.parse("").pretty() == "# no rule matches: include"


@pytest.mark.parametrize(
    "text, line, column, message",
    [
        ("+", 1, 2, "unexpected end of the filter"),
        ("a b", 1, 3, "a pattern cannot hold white space"),
        ("- logs/*\n+\nb", 2, 2, "unexpected end of the line"),
        ("a[tag:x=y", 1, 10, "expected ']'"),
        ("a[tag:x=]", 1, 9, "unexpected ']'"),
        ("[tag x=y]", 1, 6, "unexpected 'x=y'"),
        ("'abc", 1, 1, "a quote (') that is not closed"),
        ("a/b\n  [foo=1]", 2, 4, "unknown condition 'foo'"),
        ("[tag=1]", 1, 5, "tag needs a name"),
        ("[size:x=1]", 1, 7, "size takes no name"),
        ("[hdr:etag=1]", 1, 6, "hdr: names one of"),
        ("[age>7y]", 1, 6, "age compares with a duration"),
        ("[size<lots]", 1, 7, "size compares with a size"),
        ("[hdr:content-length>=big]", 1, 22, "compares with a size"),
        ("[md:a<b]", 1, 7, "< compares numbers"),
        ("/a/b", 1, 1, "no leading '/'"),
        ("a/b]", 1, 4, "unexpected ']'"),
        ("a[[tag:x=1]", 1, 3, "unexpected '['"),
    ],
)
def test_errors_carry_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(FilterError) as e:
        parse(text)
    assert (e.value.line, e.value.column) == (line, column), str(e.value)
    assert message in e.value.message
    assert str(e.value).startswith(f"line {line}, column {column}: ")
