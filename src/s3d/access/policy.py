"""Bucket policies: IAM policy JSON parsed, validated (MalformedPolicy) and compiled once per change.

A compiled policy answers ``evaluate(request) -> Effect``: DENY if any statement that applies
denies, else ALLOW if any statement that applies allows, else NOT_APPLICABLE. Statements are
compiled to matchers (linear-time wildcards, parsed networks and dates), so a request
costs no JSON parsing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any

from s3d.access.principals import Principal, PrincipalSet
from s3d.access.wildcards import Wildcard
from s3d.s3.errors import S3Error

VERSIONS = ("2012-10-17", "2008-10-17")
MAX_POLICY_BYTES = 20 * 1024
ARN_PREFIX = "arn:aws:s3:::"
TOP_FIELDS = frozenset({"Version", "Id", "Statement"})
STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
IF_EXISTS = "IfExists"
POLICY_VARIABLE = "${"  # ${aws:username} and the like: refused rather than matched literally
PUBLIC_NETWORK_MIN_PREFIX = 8  # an IpAddress condition narrower than /8 makes a statement non-public


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"
    NOT_APPLICABLE = "NotApplicable"


# The condition keys s3d fills in for a request. Keys with a trailing "/" take a tag key after it.
GLOBAL_KEYS = frozenset(
    {
        "aws:sourceip", "aws:securetransport", "aws:currenttime", "aws:epochtime", "aws:useragent",
        "aws:referer", "aws:username", "aws:userid", "aws:principaltype", "aws:principalarn",
    }
)  # fmt: skip
S3_KEYS = frozenset(
    {
        "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-acl", "s3:x-amz-server-side-encryption",
        "s3:x-amz-copy-source", "s3:x-amz-metadata-directive", "s3:x-amz-storage-class",
        "s3:x-amz-content-sha256", "s3:signatureversion", "s3:authtype", "s3:x-amz-grant-read",
        "s3:x-amz-grant-write", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write-acp",
        "s3:x-amz-grant-full-control",
    }
)  # fmt: skip
TAG_KEYS = ("s3:existingobjecttag/", "s3:requestobjecttag/")


def malformed(message: str) -> S3Error:
    return S3Error("MalformedPolicy", message, status=400)


# ---------- the request as a policy sees it ----------
Lookup = Callable[[str], "list[str] | None"]


@dataclass(slots=True)
class PolicyRequest:
    """What a statement is matched against. ``lookup`` answers a (lower-case) condition key."""

    action: str  # "s3:GetObject"
    resource: str  # "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/key"
    principal: Principal | None  # None: anonymous
    lookup: Lookup


# ---------- wildcards ----------
@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool = False) -> Wildcard:
    """IAM wildcards: '*' any run of characters, '?' any one character; nothing else is special."""
    return Wildcard.compile(pattern, ignore_case)


def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise malformed(f"Invalid {what}: expected a string or a non-empty list of strings")


def _scalars(value: Any, what: str) -> list[str]:
    """Condition values: strings, numbers and booleans, one or a list (JSON true is "true")."""
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (str, int, float)):
            out.append(str(v))
        else:
            raise malformed(f"Invalid Condition value for {what}")
    if not out:
        raise malformed(f"Invalid Condition value for {what}: empty")
    return out


# ---------- conditions ----------
Test = Callable[[list[str] | None], bool]


def _parse_date(v: str) -> float:
    try:
        if v.isdigit():
            return float(v)
        return datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except (ValueError, OverflowError):
        raise malformed(f"Invalid Condition value: {v!r} is not a date") from None


def _parse_number(v: str) -> float:
    try:
        n = float(v)
    except ValueError:
        raise malformed(f"Invalid Condition value: {v!r} is not a number") from None
    if n != n or n in (float("inf"), float("-inf")):
        raise malformed(f"Invalid Condition value: {v!r} is not a number")
    return n


def _parse_network(v: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(v, strict=False)
    except ValueError:
        raise malformed(f"Invalid Condition value: {v!r} is not an IP address or CIDR block") from None


def _request_number(v: str) -> float | None:
    try:
        n = float(v)
    except ValueError:
        return None
    return None if n != n else n


def _request_date(v: str) -> float | None:
    try:
        return _parse_date(v)
    except S3Error:
        return None


def _request_ip(v: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(v)
    except ValueError:
        return None


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a != b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _any_value(parse: Callable[[str], Any], pred: Callable[[Any], bool]) -> Callable[[list[str]], bool]:
    def test(values: list[str]) -> bool:
        for v in values:
            x = parse(v)
            if x is not None and pred(x):
                return True
        return False

    return test


def _operator(op: str, wanted: list[str]) -> tuple[Callable[[list[str]], bool], bool]:
    """(test of the request's values, negated). A negated operator matches when no value matches."""
    if op in ("StringEquals", "StringNotEquals"):
        want = frozenset(wanted)
        return (lambda vs: any(v in want for v in vs)), op == "StringNotEquals"
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        lwant = frozenset(w.lower() for w in wanted)
        return (lambda vs: any(v.lower() in lwant for v in vs)), op == "StringNotEqualsIgnoreCase"
    if op in ("StringLike", "StringNotLike"):
        pats = [wildcard(w) for w in wanted]
        return (lambda vs: any(p.fullmatch(v) for p in pats for v in vs)), op == "StringNotLike"
    if op.startswith("Numeric") and op[7:] in _NUMERIC:
        cmp, nums = _NUMERIC[op[7:]], [_parse_number(w) for w in wanted]
        negated = op == "NumericNotEquals"
        if negated:
            cmp = _NUMERIC["Equals"]
        return _any_value(_request_number, lambda x: any(cmp(x, n) for n in nums)), negated
    if op.startswith("Date") and op[4:] in _NUMERIC:
        cmp, dates = _NUMERIC[op[4:]], [_parse_date(w) for w in wanted]
        negated = op == "DateNotEquals"
        if negated:
            cmp = _NUMERIC["Equals"]
        return _any_value(_request_date, lambda x: any(cmp(x, d) for d in dates)), negated
    if op == "Bool":
        lwant = frozenset(w.lower() for w in wanted)
        return (lambda vs: any(v.lower() in lwant for v in vs)), False
    if op in ("IpAddress", "NotIpAddress"):
        nets = [_parse_network(w) for w in wanted]
        return _any_value(_request_ip, lambda ip: any(ip in n for n in nets)), op == "NotIpAddress"
    if op == "ArnEquals" or op == "ArnLike" or op == "ArnNotEquals" or op == "ArnNotLike":
        pats = [wildcard(w) for w in wanted]
        return (lambda vs: any(p.fullmatch(v) for p in pats for v in vs)), "Not" in op
    raise malformed(f"Invalid Condition type : {op}")


def normalize_key(key: str) -> str:
    """Condition keys compare case-insensitively, except the tag key after s3:...ObjectTag/."""
    low = key.lower()
    for t in TAG_KEYS:
        if low.startswith(t):
            return t + key[len(t) :]
    return low


def _valid_key(key: str) -> bool:
    k = key.lower()
    if k in GLOBAL_KEYS or k in S3_KEYS:
        return True
    return any(k.startswith(t) and len(k) > len(t) for t in TAG_KEYS)


def _condition(op: str, key: str, raw: Any) -> Test:
    if op.startswith(("ForAnyValue:", "ForAllValues:")):
        raise S3Error("NotImplemented", f"s3d does not evaluate the {op.split(':')[0]} condition set operators.")
    if not _valid_key(key):
        raise malformed("Policy has an invalid condition key")
    if op == "Null":
        wanted = frozenset(v.lower() for v in _scalars(raw, op))
        if not wanted <= {"true", "false"}:
            raise malformed("Invalid Condition value for Null: must be true or false")
        return lambda values: ("true" if values is None else "false") in wanted
    if_exists = op.endswith(IF_EXISTS) and op != IF_EXISTS
    base = op[: -len(IF_EXISTS)] if if_exists else op
    test, negated = _operator(base, _scalars(raw, op))

    def check(values: list[str] | None) -> bool:
        if values is None:
            return if_exists or negated
        return not test(values) if negated else test(values)

    return check


# ---------- statements ----------
@dataclass(slots=True)
class Statement:
    effect: Effect
    principals: PrincipalSet
    not_principal: bool
    actions: list[Wildcard]
    not_action: bool
    resources: list[Wildcard]
    not_resource: bool
    conditions: list[tuple[str, Test]]  # (lower-case key, test)
    public: bool

    def applies(self, r: PolicyRequest) -> bool:
        if self.principals.matches(r.principal) == self.not_principal:
            return False
        if any(a.fullmatch(r.action) for a in self.actions) == self.not_action:
            return False
        if any(p.fullmatch(r.resource) for p in self.resources) == self.not_resource:
            return False
        return all(test(r.lookup(key)) for key, test in self.conditions)


def _check_action(a: str) -> Wildcard:
    if a != "*" and not re.fullmatch(r"s3:[A-Za-z0-9*?]+", a):
        raise malformed("Policy has invalid action")
    return wildcard(a, ignore_case=True)


def _check_resource(res: str, bucket: str) -> Wildcard:
    if res == "*":
        return wildcard(res)
    if not res.startswith(ARN_PREFIX):
        raise malformed("Policy has invalid resource")
    name = res[len(ARN_PREFIX) :].split("/", 1)[0]
    if not wildcard(name).fullmatch(bucket):
        raise malformed("Policy has invalid resource")
    return wildcard(res)


def _is_restricting(conditions: dict[str, Any]) -> bool:
    """Whether a condition block keeps a wildcard-principal Allow from being public (AWS's rule, narrowed)."""
    for op, body in conditions.items():
        if op in ("IpAddress", "IpAddressIfExists") and isinstance(body, dict):
            for key, raw in body.items():
                if key.lower() != "aws:sourceip":
                    continue
                nets = [ipaddress.ip_network(v, strict=False) for v in _scalars(raw, op)]
                if nets and all(n.prefixlen >= PUBLIC_NETWORK_MIN_PREFIX for n in nets):
                    return True
        if op.startswith("StringEquals") and isinstance(body, dict):
            if any(k.lower() in ("aws:username", "aws:userid", "aws:principalarn") for k in body):
                return True
    return False


def _statement(raw: Any, bucket: str, resolve: Callable[[Any, bool], PrincipalSet]) -> Statement:
    if not isinstance(raw, dict):
        raise malformed("Statement is not an object")
    unknown = set(raw) - STATEMENT_FIELDS
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed("Invalid effect: " + str(effect))
    if ("Principal" in raw) == ("NotPrincipal" in raw):
        raise malformed("Statement must have exactly one of Principal and NotPrincipal")
    if ("Action" in raw) == ("NotAction" in raw):
        raise malformed("Missing required field Action" if "Action" not in raw else "Action and NotAction together")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise malformed(
            "Missing required field Resource" if "Resource" not in raw else "Resource and NotResource together"
        )
    not_principal = "NotPrincipal" in raw
    principals = resolve(raw["NotPrincipal" if not_principal else "Principal"], not_principal)
    not_action = "NotAction" in raw
    actions = [_check_action(a) for a in _strings(raw["NotAction" if not_action else "Action"], "Action")]
    not_resource = "NotResource" in raw
    resources = [
        _check_resource(r, bucket) for r in _strings(raw["NotResource" if not_resource else "Resource"], "Resource")
    ]
    cond_raw = raw.get("Condition", {})
    if not isinstance(cond_raw, dict):
        raise malformed("Condition must be an object")
    conditions: list[tuple[str, Test]] = []
    for op, body in cond_raw.items():
        if not isinstance(body, dict) or not body:
            raise malformed(f"Invalid Condition block for {op}")
        for key, values in body.items():
            conditions.append((normalize_key(key), _condition(op, key, values)))
    wide = principals.everyone or not_principal
    public = effect == "Allow" and wide and not _is_restricting(cond_raw)
    return Statement(
        Effect(effect), principals, not_principal, actions, not_action, resources, not_resource, conditions, public
    )


@dataclass(slots=True)
class Policy:
    text: str
    statements: list[Statement]

    @property
    def is_public(self) -> bool:
        return any(s.public for s in self.statements)

    def evaluate(self, r: PolicyRequest, public_statements: bool = True) -> Effect:
        """DENY beats ALLOW; with ``public_statements`` False, public Allow statements are skipped."""
        allowed = False
        for s in self.statements:
            if s.effect is Effect.ALLOW and (allowed or (s.public and not public_statements)):
                continue
            if s.applies(r):
                if s.effect is Effect.DENY:
                    return Effect.DENY
                allowed = True
        return Effect.ALLOW if allowed else Effect.NOT_APPLICABLE


def parse(text: str, bucket: str, resolve: Callable[[Any, bool], PrincipalSet]) -> Policy:
    """Validate and compile a bucket policy document; MalformedPolicy (or NotImplemented) if it is not one."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise malformed("Policy exceeds the maximum allowed document size.")
    if POLICY_VARIABLE in text:
        raise S3Error("NotImplemented", "s3d does not substitute policy variables (${...}) in bucket policies.")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise malformed("This policy contains invalid Json") from None
    if not isinstance(doc, dict):
        raise malformed("This policy contains invalid Json")
    unknown = set(doc) - TOP_FIELDS
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    version = doc.get("Version", VERSIONS[1])
    if version not in VERSIONS:
        raise malformed("The policy must contain a valid version string")
    raw = doc.get("Statement")
    items: Iterable[Any] = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    statements = [_statement(s, bucket, resolve) for s in items]
    if not statements:
        raise malformed("Missing required field Statement")
    return Policy(text, statements)


_compiled: dict[tuple[str, str], Policy] = {}
COMPILED_CACHE = 1024


def compiled(text: str, bucket: str, resolve: Callable[[Any, bool], PrincipalSet]) -> Policy:
    """The compiled form of a stored policy: parsed once per worker and change, then reused."""
    k = (bucket, text)
    p = _compiled.get(k)
    if p is None:
        p = parse(text, bucket, resolve)
        if len(_compiled) >= COMPILED_CACHE:
            _compiled.pop(next(iter(_compiled)))
        _compiled[k] = p
    return p
