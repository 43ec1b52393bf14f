"""Parsing filter text into rules (grammar.lark, LALR), with every error at its line and column."""

from __future__ import annotations

from functools import cache
from importlib import resources

import lark

from s3d.filters import units
from s3d.filters.rules import (
    CONTENT_LENGTH,
    HEADERS,
    NAMED_FIELDS,
    ORDERING,
    Condition,
    Field,
    Op,
    PatternPiece,
    Rule,
)

EXPECTED = {
    "PATTERN": "a pattern",
    "STRING": "a quoted string",
    "VALUE": "a value",
    "NAME": "a name",
    "OP": "an operator (= != < <= > >=)",
    "FIELD": "a condition (tag:, btag:, md:, hdr:, age, size)",
    "LSQB": "'['",
    "RSQB": "']'",
    "COLON": "':'",
    "SIGN": "'+' or '-'",
    "SEMICOLON": "';'",
    "_NL": "the end of the line",
    "$END": "the end of the filter",
}
FIELDS_HELP = "tag:NAME, btag:NAME, md:NAME, hdr:NAME, age or size"


class FilterError(ValueError):
    """A filter that does not parse: what is wrong, and where (1-based line and column)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


@cache
def _parser() -> lark.Lark:
    grammar = resources.files("s3d.filters").joinpath("grammar.lark").read_text()
    return lark.Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True)


def parse(text: str) -> list[Rule]:
    """The rules of a filter, in order; FilterError (and nothing else) for any text that is not a filter."""
    try:
        tree = _parser().parse(text)
    except lark.UnexpectedInput as e:
        raise _syntax_error(e, text) from None
    return [_rule(node) for node in tree.children if isinstance(node, lark.Tree)]


def _describe(expected: set[str]) -> str:
    names = sorted({EXPECTED.get(t, t) for t in expected})
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0] if names else "nothing"


def _syntax_error(e: lark.UnexpectedInput, text: str) -> FilterError:
    line, column = max(1, e.line), max(1, e.column)
    if isinstance(e, lark.UnexpectedCharacters):
        char = text[e.pos_in_stream] if e.pos_in_stream is not None and e.pos_in_stream < len(text) else ""
        if char in "'\"":
            return FilterError(f"a quote ({char}) that is not closed on its line", line, column)
        return FilterError(f"unexpected {char!r}; expected {_describe(set(e.allowed or ()))}", line, column)
    if isinstance(e, lark.UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            line, column = _end_position(text)
            what = "end of the filter"
        elif tok.type == "_NL":
            what = "end of the line"
        else:
            what = repr(str(tok))
        return FilterError(f"unexpected {what}; expected {_describe(set(e.expected))}", line, column)
    line, column = _end_position(text)
    return FilterError("unexpected end of the filter", line, column)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _rule(node: lark.Tree[lark.Token]) -> Rule:
    include = True
    pieces: list[PatternPiece] = []
    conditions: list[Condition] = []
    first: lark.Token | None = None
    previous_end: int | None = None
    for child in node.children:
        if isinstance(child, lark.Tree):
            conditions.append(_condition(child))
            previous_end = child.meta.end_pos if not child.meta.empty else None
            continue
        first = first or child
        if child.type == "SIGN":
            include = child == "+"
            previous_end = None
            continue
        if pieces and previous_end is not None and child.start_pos != previous_end:
            raise FilterError("a pattern cannot hold white space: quote it ('a b')", *_at(child))
        quoted = child.type == "STRING"
        piece = PatternPiece(str(child)[1:-1] if quoted else str(child), quoted)
        if not pieces and piece.text.startswith("/"):
            raise FilterError("a pattern starts with the bucket name (no leading '/')", *_at(child))
        if not piece.text:
            raise FilterError("an empty pattern", *_at(child))
        pieces.append(piece)
        previous_end = child.end_pos
    line, column = _at(first) if first is not None else (node.meta.line, node.meta.column)
    return Rule(include, tuple(pieces), tuple(conditions), line, column)


def _at(tok: lark.Token) -> tuple[int, int]:
    return tok.line or 1, tok.column or 1


def _condition(node: lark.Tree[lark.Token]) -> Condition:
    toks = [c for c in node.children if isinstance(c, lark.Token)]
    field_tok, op_tok, value_tok = toks[0], toks[-2], toks[-1]
    name_tok = toks[1] if len(toks) == 4 else None
    try:
        field = Field(field_tok.lower())
    except ValueError:
        raise FilterError(f"unknown condition {str(field_tok)!r}; use {FIELDS_HELP}", *_at(field_tok)) from None
    name: str | None = None
    if field in NAMED_FIELDS:
        if name_tok is None:
            raise FilterError(f"{field} needs a name: [{field}:NAME{op_tok}VALUE]", *_at(op_tok))
        name = _unquote(name_tok)
        if not name:
            raise FilterError(f"{field} needs a name", *_at(name_tok))
        if field is Field.HDR:
            name = name.lower()
            if name not in HEADERS:
                raise FilterError(f"hdr: names one of {', '.join(HEADERS)}", *_at(name_tok))
        if field is Field.MD:
            name = name.lower()
    elif name_tok is not None:
        raise FilterError(f"{field} takes no name: [{field}{op_tok}VALUE]", *_at(name_tok))
    op = Op(str(op_tok))
    quoted = value_tok.type == "STRING"
    value = _unquote(value_tok)
    number: float | None = None
    if field is Field.AGE:
        number = units.parse_duration(value)
        if number is None:
            raise FilterError(f"age compares with {units.DURATION_HELP}", *_at(value_tok))
    elif field is Field.SIZE or (field is Field.HDR and name == CONTENT_LENGTH):
        number = units.parse_size(value)
        if number is None:
            raise FilterError(f"{field_tok}{':' + str(name) if name else ''} compares with {units.SIZE_HELP}",
                              *_at(value_tok))  # fmt: skip
    elif op in ORDERING:
        number = units.parse_size(value)
        if number is None:
            raise FilterError(f"{op} compares numbers: use = or != to compare text", *_at(value_tok))
    return Condition(field, name, op, value, quoted, number, *_at(field_tok))


def _unquote(tok: lark.Token) -> str:
    return str(tok)[1:-1] if tok.type == "STRING" else str(tok)
