"""Compiled filters: rules turned once into one automaton and predicates, evaluated per object.

Deciding is "first matching rule wins, else the default (include)". The patterns of all the rules
are matched together, in one linear-time pass over 'bucket/key' (automaton.py), which gives every
rule whose pattern fits. The rules that can apply to a bucket (its own rules and those with a
wildcard bucket, whose bucket-tag conditions hold) are settled once per bucket, so only the
conditions of the rules that fit run, the first rule that fits and holds deciding. When all the
rules of a bucket have plain patterns ('logs/*.tmp', '*/**.tmp'), a key long enough for them to be
quicker than a step per character is matched against them one by one, with str methods (simple.py).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from s3d.access.wildcards import Wildcard
from s3d.filters import globs, units
from s3d.filters.automaton import Automaton
from s3d.filters.rules import CONTENT_LENGTH, Condition, Field, Op, Rule
from s3d.filters.simple import Match, Plain, plain, rest
from s3d.filters.syntax import parse

DEFAULT_INCLUDE = True  # what happens to an object no rule matches
USER_META_PREFIX = "x-amz-meta-"
PLAN_CACHE = 4096  # buckets whose applicable rules are kept
PLAIN_RULE_STEPS = 8  # a plain pattern checked with str methods costs about as much as this many automaton steps
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


def literal_bucket(rule: Rule) -> str | None:
    """The one bucket a rule can match, or None when its bucket part has a wildcard (or it has no pattern)."""
    out = []
    for p in rule.pieces:
        head, slash, _ = p.text.partition("/")
        if not p.quoted and (globs.STAR in head or globs.ANY in head):
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
    test: Callable[[str], bool]
    if not cond.quoted and (globs.STAR in cond.value or globs.ANY in cond.value):
        test = Wildcard.compile(cond.value).fullmatch  # '*' and '?' take '/' here: IAM wildcards, linear time
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
    """The rules that can apply to one bucket (with its bucket tags), and the conditions each has left.

    Bucket-tag conditions depend on the bucket alone, so they are settled here, once per bucket:
    a rule whose bucket-tag condition fails is left out, and one whose condition holds keeps only
    its other conditions.
    """

    checks: dict[int, tuple[Predicate, ...]]  # rule index -> the conditions left to check
    rules: int  # the same rules as bits (bit i: rule i), to pick them out of the automaton's matches
    prefix: str  # 'bucket/', what every path of the bucket starts with
    plain: Plain | None  # the rules' patterns when all are plain (None: some is not)
    plain_from: int  # the length of key from which the plain patterns are quicker than the automaton
    bucket_tags: dict[str, str] | None  # what the plan was made for (None: the filter has no btag conditions)


class Filter:
    """A compiled filter. Build with `Filter.parse(text)`; `decide` and `include` are safe to call often."""

    def __init__(self, rules: list[Rule], source: str = "") -> None:
        self.rules = tuple(rules)
        self.source = source
        self.default = DEFAULT_INCLUDE
        self._globs = [globs.pattern(r.pieces) for r in self.rules]
        self._patterns = Automaton(self._globs)
        self._plain = [plain(g) for g in self._globs]
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
        checks = {}
        for i, rule in enumerate(self.rules):
            if self._bucket[i] not in (None, s.bucket):
                continue
            left = []
            for cond, check in zip(rule.conditions, self._checks[i], strict=True):
                if cond.field is not Field.BTAG:
                    left.append(check)
                elif not check(bucket_only, 0.0):
                    break
            else:
                checks[i] = tuple(left)
        prefix = f"{s.bucket}{globs.SEP}"
        fast = self._plain_patterns(checks, prefix)
        plan = _Plan(
            checks,
            sum(1 << i for i in checks),
            prefix,
            fast,
            PLAIN_RULE_STEPS * len(fast) if fast is not None else 0,
            dict(s.bucket_tags) if self.uses_bucket_tags else None,
        )
        self._plans[s.bucket] = plan
        return plan

    def _plain_patterns(self, rules: Iterable[int], prefix: str) -> Plain | None:
        """The rules' patterns as plain ones within a bucket, the rest after 'bucket/' or the whole; None: not all are."""
        on_key: dict[int, Match] = {}
        on_path: dict[int, Match] = {}
        for i in rules:
            after = rest(self._globs[i], prefix)
            match = plain(after) if after is not None else None
            if match is not None:
                on_key[i] = match
            elif (match := self._plain[i]) is not None:
                on_path[i] = match
            else:
                return None
        return Plain(on_key, on_path)

    def decide(self, s: Subject, now: float | None = None) -> Decision:
        """The first rule whose pattern and conditions match, else the default."""
        plan = self._plans.get(s.bucket)
        if plan is None or (plan.bucket_tags is not None and plan.bucket_tags != s.bucket_tags):
            plan = self._plan(s)
        if not plan.rules:
            return self._default
        if plan.plain is not None and len(s.key) >= plan.plain_from:
            fits = plan.plain.matches(s.key, plan.prefix)
        else:
            fits = self._patterns.matches(s.key, plan.prefix) & plan.rules
        while fits:
            first = fits & -fits  # the lowest bit: the first rule left whose pattern fits
            i = first.bit_length() - 1
            checks = plan.checks[i]
            if checks:
                if now is None:
                    now = time.time()
                for check in checks:
                    if not check(s, now):
                        fits ^= first
                        break
                else:
                    return self._decisions[i]
                continue
            return self._decisions[i]
        return self._default

    def include(self, s: Subject, now: float | None = None) -> bool:
        return self.decide(s, now).include

    def explain(self, s: Subject, now: float | None = None) -> tuple[Decision, list[Step]]:
        """The decision and every rule looked at on the way to it, in order (slow: for people)."""
        now = time.time() if now is None else now
        fits = self._patterns.matches(f"{s.bucket}/{s.key}")
        steps: list[Step] = []
        for i, rule in enumerate(self.rules):
            if not fits >> i & 1:
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
