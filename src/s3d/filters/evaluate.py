"""Compiled filters: rules turned once into regular expressions and predicates, evaluated per object.

Deciding is "first matching rule wins, else the default (include)". For speed the rules that can
apply to a bucket (its own rules and those with a wildcard bucket) are joined into one regular
expression per bucket, so one C-level match finds the first rule whose pattern fits; only that
rule's conditions run in Python, and only when they fail is the search resumed after it.
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from s3d.filters import units
from s3d.filters.rules import CONTENT_LENGTH, Condition, Field, Op, Rule
from s3d.filters.syntax import parse

DEFAULT_INCLUDE = True  # what happens to an object no rule matches
USER_META_PREFIX = "x-amz-meta-"
PLAN_CACHE = 4096  # buckets whose joined expressions are kept
EMPTY: Mapping[str, str] = MappingProxyType({})

Predicate = Callable[["Subject", float], bool]
COMPARE: dict[Op, Callable[[float, float], bool]] = {
    Op.EQ: operator.eq, Op.NE: operator.ne, Op.LT: operator.lt,
    Op.LE: operator.le, Op.GT: operator.gt, Op.GE: operator.ge,
}  # fmt: skip


@dataclass(slots=True)
class Subject:
    """What a filter looks at: an object's bucket and key, its size and age, tags and metadata."""

    bucket: str
    key: str
    size: int = 0
    mtime: float = 0.0  # Unix time of the last modification
    tags: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    bucket_tags: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    meta: Mapping[str, str] = field(
        default_factory=lambda: EMPTY
    )  # stored headers (content-type...) and x-amz-meta-* entries, names lowercase


@dataclass(frozen=True, slots=True)
class Decision:
    include: bool
    rule: Rule | None  # None: no rule matched and the default decided
    index: int | None = None  # the rule's position (0-based)


@dataclass(frozen=True, slots=True)
class Step:
    """One rule as `explain` saw it: did its pattern match, and which condition (if any) failed."""

    index: int
    rule: Rule
    pattern_matched: bool
    failed: Condition | None = None
    actual: str | None = None  # the value the failed condition saw (None: absent)


def glob_regex(text: str, quoted: bool, cross_segments: bool) -> str:
    """A glob as a regular expression: '**' any text, '*' any text within a '/' segment, '?' one character."""
    if quoted:
        return re.escape(text)
    any_run, any_char = (".*", ".") if cross_segments else ("[^/]*", "[^/]")
    out = []
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append(any_run)
            i += 1
        elif text[i] == "?":
            out.append(any_char)
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return "".join(out)


def pattern_regex(rule: Rule) -> str:
    """The rule's pattern over 'bucket/key': a bucket alone, or a pattern ending in '/', covers everything under it."""
    if not rule.pieces:
        return ".*"
    rx = "".join(glob_regex(p.text, p.quoted, cross_segments=False) for p in rule.pieces)
    text = "".join(p.text for p in rule.pieces)
    if "/" not in text:
        rx += "/.*"
    elif text.endswith("/"):
        rx += ".*"
    return rx


def literal_bucket(rule: Rule) -> str | None:
    """The one bucket a rule can match, or None when its bucket part has a wildcard (or it has no pattern)."""
    out = []
    for p in rule.pieces:
        head, slash, _ = p.text.partition("/")
        if not p.quoted and ("*" in head or "?" in head):
            return None
        out.append(head)
        if slash:
            return "".join(out)
    return "".join(out) if rule.pieces else None


def _text_getter(cond: Condition) -> Callable[[Subject], str | None]:
    name = cond.name or ""
    if cond.field is Field.TAG:
        return lambda s: s.tags.get(name)
    if cond.field is Field.BTAG:
        return lambda s: s.bucket_tags.get(name)
    if cond.field is Field.MD:
        meta_name = USER_META_PREFIX + name
        return lambda s: s.meta.get(meta_name)
    return lambda s: s.meta.get(name)


def _number_getter(cond: Condition) -> Callable[[Subject, float], float] | None:
    if cond.field is Field.AGE:
        return lambda s, now: now - s.mtime
    if cond.field is Field.SIZE or (cond.field is Field.HDR and cond.name == CONTENT_LENGTH):
        return lambda s, now: float(s.size)
    return None


def predicate(cond: Condition) -> Predicate:
    """The condition as a function of (subject, now). An absent tag or metadata entry satisfies only '!='."""
    compare = COMPARE[cond.op]
    bound = cond.number
    number = _number_getter(cond)
    if number is not None:
        assert bound is not None
        return lambda s, now: compare(number(s, now), bound)
    get = _text_getter(cond)
    if bound is not None:  # an ordering on a tag or metadata value: numbers (or sizes) only

        def ordered(s: Subject, now: float) -> bool:
            v = get(s)
            n = units.parse_size(v) if v is not None else None
            return n is not None and compare(n, bound)

        return ordered
    if not cond.quoted and ("*" in cond.value or "?" in cond.value):
        matches = re.compile(glob_regex(cond.value, False, cross_segments=True), re.DOTALL).fullmatch

        def test(v: str) -> bool:
            return matches(v) is not None
    else:
        expected = cond.value

        def test(v: str) -> bool:
            return v == expected

    if cond.op is Op.EQ:
        return lambda s, now: (v := get(s)) is not None and test(v)
    return lambda s, now: (v := get(s)) is None or not test(v)


def observed(cond: Condition, s: Subject, now: float) -> str | None:
    """What a condition saw, for explanations."""
    number = _number_getter(cond)
    if number is not None:
        return f"{number(s, now):g}"
    return _text_getter(cond)(s)


@dataclass(slots=True)
class _Plan:
    """The rules that can apply to one bucket (with its bucket tags), and joined expressions to search them.

    Bucket-tag conditions depend on the bucket alone, so they are settled here, once per bucket:
    a rule whose bucket-tag condition fails is left out, and one whose condition holds keeps only
    its other conditions.
    """

    entries: list[tuple[int, tuple[Predicate, ...]]]  # (rule index, the conditions left to check)
    bucket_tags: dict[str, str] | None  # what the plan was made for (None: the filter has no btag conditions)
    searches: dict[int, Callable[[str], re.Match[str] | None]] = field(default_factory=dict)


class Filter:
    """A compiled filter. Build with `Filter.parse(text)`; `decide` and `include` are safe to call often."""

    def __init__(self, rules: list[Rule], source: str = "") -> None:
        self.rules = tuple(rules)
        self.source = source
        self.default = DEFAULT_INCLUDE
        self._regex = [pattern_regex(r) for r in self.rules]
        self._match = [re.compile(rx, re.DOTALL).fullmatch for rx in self._regex]
        self._bucket = [literal_bucket(r) for r in self.rules]
        self._checks: list[tuple[Predicate, ...]] = [tuple(predicate(c) for c in r.conditions) for r in self.rules]
        self._decisions = [Decision(r.include, r, i) for i, r in enumerate(self.rules)]
        self._default = Decision(self.default, None)
        self._plans: dict[str, _Plan] = {}
        fields = {c.field for r in self.rules for c in r.conditions}
        self.uses_bucket_tags = Field.BTAG in fields

    @classmethod
    def parse(cls, text: str) -> Filter:
        return cls(parse(text), text)

    def __len__(self) -> int:
        return len(self.rules)

    def _plan(self, s: Subject) -> _Plan:
        plan = self._plans.get(s.bucket)
        if plan is not None and (plan.bucket_tags is None or plan.bucket_tags == s.bucket_tags):
            return plan
        if len(self._plans) >= PLAN_CACHE:
            self._plans.clear()
        bucket_only = Subject(s.bucket, "", bucket_tags=s.bucket_tags)
        entries = []
        for i, rule in enumerate(self.rules):
            if self._bucket[i] not in (None, s.bucket):
                continue
            checks = []
            for cond, check in zip(rule.conditions, self._checks[i], strict=True):
                if cond.field is not Field.BTAG:
                    checks.append(check)
                elif not check(bucket_only, 0.0):
                    break
            else:
                entries.append((i, tuple(checks)))
        plan = _Plan(entries, dict(s.bucket_tags) if self.uses_bucket_tags else None)
        self._plans[s.bucket] = plan
        return plan

    def _search(self, plan: _Plan, start: int) -> Callable[[str], re.Match[str] | None]:
        search = plan.searches.get(start)
        if search is None:
            alternatives = "|".join(f"({self._regex[i]})" for i, _ in plan.entries[start:])
            search = re.compile(alternatives or "(?!)", re.DOTALL).fullmatch
            plan.searches[start] = search
        return search

    def decide(self, s: Subject, now: float | None = None) -> Decision:
        """The first rule whose pattern and conditions match, else the default."""
        plan = self._plans.get(s.bucket)
        if plan is None or (plan.bucket_tags is not None and plan.bucket_tags != s.bucket_tags):
            plan = self._plan(s)
        path = f"{s.bucket}/{s.key}"
        start = 0
        search = plan.searches.get(0) or self._search(plan, 0)
        while True:
            m = search(path)
            if m is None:
                return self._default
            pos = start + (m.lastindex or 1) - 1
            i, checks = plan.entries[pos]
            if checks:
                if now is None:
                    now = time.time()
                for check in checks:
                    if not check(s, now):
                        break
                else:
                    return self._decisions[i]
                start = pos + 1
                search = self._search(plan, start)
                continue
            return self._decisions[i]

    def include(self, s: Subject, now: float | None = None) -> bool:
        return self.decide(s, now).include

    def explain(self, s: Subject, now: float | None = None) -> tuple[Decision, list[Step]]:
        """The decision and every rule looked at on the way to it, in order (slow: for people)."""
        now = time.time() if now is None else now
        path = f"{s.bucket}/{s.key}"
        steps: list[Step] = []
        for i, rule in enumerate(self.rules):
            if self._match[i](path) is None:
                steps.append(Step(i, rule, False))
                continue
            for cond, check in zip(rule.conditions, self._checks[i], strict=True):
                if not check(s, now):
                    steps.append(Step(i, rule, True, cond, observed(cond, s, now)))
                    break
            else:
                steps.append(Step(i, rule, True))
                return self._decisions[i], steps
        return self._default, steps

    def pretty(self) -> str:
        lines = [r.text() for r in self.rules]
        lines.append(f"# no rule matches: {'include' if self.default else 'exclude'}")
        return "\n".join(lines)
