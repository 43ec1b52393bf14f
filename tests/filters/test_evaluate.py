"""Evaluating filters: patterns, each condition kind, first match wins, the default."""

from __future__ import annotations

import pytest

from s3d.filters import Filter, Subject

NOW = 1_800_000_000.0
DAY = 86400


def decide(rules: str, bucket: str = "b", key: str = "k", **kw: object) -> bool:
    return Filter.parse(rules).include(Subject(bucket, key, **kw), NOW)  # type: ignore[arg-type]


def rule_line(rules: str, bucket: str = "b", key: str = "k", **kw: object) -> int | None:
    d = Filter.parse(rules).decide(Subject(bucket, key, **kw), NOW)  # type: ignore[arg-type]
    return None if d.rule is None else d.rule.line


@pytest.mark.parametrize(
    "pattern, path, matches",
    [
        ("logs/*.tmp", "logs/a.tmp", True),
        ("logs/*.tmp", "logs/dir/a.tmp", False),  # '*' stays within a segment
        ("logs/**.tmp", "logs/dir/a.tmp", True),  # '**' crosses segments
        ("logs/**", "logs/a/b/c", True),
        ("logs", "logs/a/b", True),  # a bucket alone: everything in it
        ("logs", "logs2/a", False),
        ("logs/dir/", "logs/dir/x/y", True),  # a trailing '/': everything under the prefix
        ("logs/dir/", "logs/dirt", False),
        ("logs/2026-*", "logs/2026-01.csv", True),
        ("logs/2026-*", "logs/2025-01.csv", False),
        ("*", "any/thing/deep", True),  # every bucket, everything in it
        ("*/reports/*", "x/reports/r.pdf", True),
        ("*/reports/*", "x/y/reports/r.pdf", False),
        ("team-?/a", "team-1/a", True),
        ("team-?/a", "team-12/a", False),
        ("'logs/*.tmp'", "logs/*.tmp", True),  # quoted: literal
        ("'logs/*.tmp'", "logs/a.tmp", False),
        ("a/x.y", "a/xzy", False),  # '.' is a plain character
        ("*/**.tmp", "b/x.tmp", True),  # docs/filters.md: temporary files, anywhere
        ("*/**.tmp", "b/d/x.tmp", True),
        ("**.tmp", "b/x.tmp", False),  # no '/': a pattern of buckets, here those whose name ends in .tmp
        ("**.tmp", "b.tmp/x", True),
    ],
)
def test_patterns(pattern: str, path: str, matches: bool) -> None:
    bucket, _, key = path.partition("/")
    assert decide(f"- {pattern}", bucket, key) is not matches


def test_first_match_wins() -> None:
    rules = "+ b/keep/*\n- b/**\n+ b/keep/also"
    assert rule_line(rules, key="keep/x") == 1 and decide(rules, key="keep/x")
    assert rule_line(rules, key="other") == 2 and not decide(rules, key="other")
    assert rule_line(rules, key="keep/also") == 1


def test_a_failed_condition_passes_the_object_on_to_later_rules() -> None:
    rules = "- b/*[tag:t=1]\n+ b/x\n- b/**"
    assert rule_line(rules, key="x", tags={"t": "1"}) == 1
    assert rule_line(rules, key="x", tags={"t": "2"}) == 2
    assert rule_line(rules, key="y", tags={"t": "2"}) == 3


def test_default_is_include_when_no_rule_matches() -> None:
    assert decide("- other/**") is True
    assert rule_line("- other/**") is None
    assert decide("") is True


def test_exclude_everything_else_with_a_last_rule() -> None:
    rules = "+ b/keep/**\n- **"
    assert decide(rules, key="keep/1") and not decide(rules, key="drop/1") and not decide(rules, "c", "x")


def test_tag_conditions() -> None:
    assert decide("- *[tag:review=pending]", tags={"review": "pending"}) is False
    assert decide("- *[tag:review=pending]", tags={"review": "done"}) is True
    assert decide("- *[tag:review!=pending]", tags={"review": "done"}) is False
    assert decide("- *[tag:review!=pending]") is False  # absent: not equal
    assert decide("- *[tag:review=pending]") is True  # absent: not equal
    assert decide("- *[tag:s3d.upload=false]", tags={"s3d.upload": "false"}) is False


def test_value_globs_and_quoted_values() -> None:
    assert decide("- *[hdr:content-type=video/*]", meta={"content-type": "video/mp4"}) is False
    assert decide("- *[hdr:content-type=video/*]", meta={"content-type": "audio/mp4"}) is True
    assert decide("- *[hdr:content-type='video/*']", meta={"content-type": "video/mp4"}) is True  # quoted: literal
    assert decide("- *[hdr:content-type='video/*']", meta={"content-type": "video/*"}) is False
    assert decide("- *[md:note='a b']", meta={"x-amz-meta-note": "a b"}) is False


def test_bucket_tag_conditions() -> None:
    rules = "- *[btag:tier=cold]"
    assert decide(rules, bucket_tags={"tier": "cold"}) is False
    assert decide(rules, bucket_tags={"tier": "hot"}) is True
    f = Filter.parse(rules)  # the same bucket seen with other tags later (a PutBucketTagging)
    assert f.include(Subject("b", "k", bucket_tags={"tier": "cold"}), NOW) is False
    assert f.include(Subject("b", "k", bucket_tags={"tier": "hot"}), NOW) is True
    assert f.include(Subject("b", "k", bucket_tags={}), NOW) is True


def test_metadata_conditions_read_user_metadata() -> None:
    rules = "+ *[md:project=apollo]/reports/*\n- **"
    assert decide(rules, key="reports/r.pdf", meta={"x-amz-meta-project": "apollo"}) is True
    assert decide(rules, key="reports/r.pdf", meta={"x-amz-meta-project": "gemini"}) is False
    assert decide(rules, key="reports/r.pdf", meta={"project": "apollo"}) is False  # not user metadata


def test_header_conditions() -> None:
    assert decide("- *[hdr:content-length>100MiB]", size=101 * 1024**2) is False
    assert decide("- *[hdr:content-length>100MiB]", size=100 * 1024**2) is True
    assert decide("- *[hdr:cache-control=no-store]", meta={"cache-control": "no-store"}) is False


@pytest.mark.parametrize(
    "cond, size, excluded",
    [("size=0", 0, True), ("size!=0", 0, False), ("size<1K", 1023, True), ("size<1K", 1024, False),
     ("size<=1K", 1024, True), ("size>1K", 1025, True), ("size>1K", 1024, False), ("size>=1K", 1024, True)],
)  # fmt: skip
def test_size_operators(cond: str, size: int, excluded: bool) -> None:
    assert decide(f"- *[{cond}]", size=size) is not excluded


def test_age() -> None:
    assert decide("- *[age>7d]", mtime=NOW - 8 * DAY) is False
    assert decide("- *[age>7d]", mtime=NOW - 6 * DAY) is True
    assert decide("- *[age<=1h]", mtime=NOW - 60) is False


def test_ordering_on_tags_compares_numbers_and_never_matches_text() -> None:
    assert decide("- *[tag:priority>3]", tags={"priority": "5"}) is False
    assert decide("- *[tag:priority>3]", tags={"priority": "2"}) is True
    assert decide("- *[tag:priority>3]", tags={"priority": "high"}) is True
    assert decide("- *[md:bytes<1MiB]", meta={"x-amz-meta-bytes": "1000"}) is False


def test_all_conditions_of_a_rule_must_hold() -> None:
    rules = "- *[tag:a=1][size>10]"
    assert decide(rules, tags={"a": "1"}, size=11) is False
    assert decide(rules, tags={"a": "1"}, size=10) is True
    assert decide(rules, tags={"a": "2"}, size=11) is True


def test_explain_lists_each_rule_until_the_deciding_one() -> None:
    f = Filter.parse("- x/**\n- b/*[tag:review=pending]\n+ b/**\n- **")
    d, steps = f.explain(Subject("b", "k", tags={"review": "ok"}), NOW)
    assert d.include and d.rule is not None and d.rule.line == 3
    assert [(s.rule.line, s.pattern_matched, s.failed.text() if s.failed else None, s.actual) for s in steps] == [
        (1, False, None, None),
        (2, True, "[tag:review=pending]", "ok"),
        (3, True, None, None),
    ]
    assert d == f.decide(Subject("b", "k", tags={"review": "ok"}), NOW)
