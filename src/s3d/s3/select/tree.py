"""The S3 Select SQL syntax tree: what ``syntax.parse`` builds and ``translate`` renders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Name:
    """One identifier: ``"Name"`` (quoted: compared exactly) or ``name`` (compared ignoring case)."""

    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Index:
    """``[n]``: the n-th element (from 0) of an array."""

    position: int


Step = Name | Index


@dataclass(frozen=True, slots=True)
class Path:
    """A reference into the record: ``s.a.b[0]``, ``name``, ``_3``."""

    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float | bool | None  # None: NULL (and MISSING)


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+", "NOT"
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # arithmetic, "||", comparison, "AND", "OR"
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class IsNull:
    operand: Expr
    negated: bool


@dataclass(frozen=True, slots=True)
class Like:
    operand: Expr
    pattern: Expr
    escape: Expr | None
    negated: bool


@dataclass(frozen=True, slots=True)
class Between:
    operand: Expr
    low: Expr
    high: Expr
    negated: bool


@dataclass(frozen=True, slots=True)
class In:
    operand: Expr
    choices: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Call:
    """A function call, by its upper-cased name; ``COUNT(*)`` has ``star``."""

    name: str
    args: tuple[Expr, ...]
    star: bool = False


@dataclass(frozen=True, slots=True)
class Cast:
    operand: Expr
    type_name: str  # upper-cased, as written: INT, STRING, TIMESTAMP...


@dataclass(frozen=True, slots=True)
class Extract:
    part: str  # upper-cased: YEAR, MONTH, ...
    operand: Expr


@dataclass(frozen=True, slots=True)
class Trim:
    where: str  # "BOTH", "LEADING" or "TRAILING"
    characters: Expr | None
    operand: Expr


@dataclass(frozen=True, slots=True)
class Substring:
    operand: Expr
    start: Expr
    length: Expr | None


@dataclass(frozen=True, slots=True)
class Case:
    subject: Expr | None  # CASE x WHEN ... (simple) or CASE WHEN ... (searched)
    whens: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None


Expr = Path | Literal | Unary | Binary | IsNull | Like | Between | In | Call | Cast | Extract | Trim | Substring | Case


@dataclass(frozen=True, slots=True)
class Star:
    """``SELECT *``: the whole record."""


@dataclass(frozen=True, slots=True)
class Item:
    expr: Expr
    alias: Name | None


@dataclass(frozen=True, slots=True)
class Source:
    """``FROM S3Object[*].a[*] alias``: the steps after S3Object (``None`` is ``[*]``) and the alias."""

    steps: tuple[Name | Index | None, ...]
    alias: Name | None


@dataclass(frozen=True, slots=True)
class Query:
    items: tuple[Item, ...] | Star
    source: Source
    where: Expr | None
    limit: int | None
