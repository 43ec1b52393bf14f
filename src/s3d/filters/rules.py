"""A parsed filter: rules of a pattern and conditions, each printable back in canonical form."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    TAG = "tag"  # object tags
    BTAG = "btag"  # bucket tags
    MD = "md"  # user metadata (x-amz-meta-NAME)
    HDR = "hdr"  # stored headers: content-type, content-length...
    AGE = "age"  # time since the object was last modified
    SIZE = "size"  # the object's size in bytes


NAMED_FIELDS = (Field.TAG, Field.BTAG, Field.MD, Field.HDR)


class Op(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


ORDERING = (Op.LT, Op.LE, Op.GT, Op.GE)

CONTENT_LENGTH = "content-length"
# the headers a condition may name: what S3 stores with an object, and its length
HEADERS = (
    "content-type",
    CONTENT_LENGTH,
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)


@dataclass(frozen=True, slots=True)
class PatternPiece:
    text: str
    quoted: bool  # quoted text is literal: '*' and '?' in it are plain characters


@dataclass(frozen=True, slots=True)
class Condition:
    field: Field
    name: str | None  # the tag, metadata or header name; None for age and size
    op: Op
    value: str  # as written, without quotes
    quoted: bool  # a quoted value is literal; an unquoted one is a glob ('*', '?')
    number: float | None  # bytes or seconds when the comparison is numeric
    line: int
    column: int

    @property
    def numeric(self) -> bool:
        return self.number is not None

    def text(self) -> str:
        subject = f"{self.field}:{quote_if_needed(self.name, NAME_SPECIALS)}" if self.name is not None else self.field
        value = _quote(self.value) if self.quoted else self.value
        return f"[{subject}{self.op}{value}]"


@dataclass(frozen=True, slots=True)
class Rule:
    include: bool
    pieces: tuple[PatternPiece, ...]  # empty: the rule has conditions only and matches every object
    conditions: tuple[Condition, ...]
    line: int
    column: int

    @property
    def sign(self) -> str:
        return "+" if self.include else "-"

    @property
    def pattern(self) -> str:
        return "".join(_quote(p.text) if p.quoted else p.text for p in self.pieces)

    def text(self) -> str:
        pattern = self.pattern
        gap = "" if pattern.startswith(COMMENT) else " "  # '- #x' would read back as a comment, '-#x' does not
        return f"{self.sign}{gap}{pattern}{''.join(c.text() for c in self.conditions)}"


COMMENT = "#"  # starts a comment after white space (grammar.lark), not after a sign
NAME_SPECIALS = set(" \t[]'\"=!<>;")


def _quote(text: str) -> str:
    return f'"{text}"' if "'" in text else f"'{text}'"


def quote_if_needed(text: str | None, specials: set[str]) -> str:
    if text is None:
        return ""
    return _quote(text) if not text or any(ch in specials for ch in text) else text
