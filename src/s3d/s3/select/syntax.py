"""The S3 Select SQL dialect: a lark grammar and the transformer that turns its parse into ``tree``.

Only the syntax is decided here; which functions, types and paths mean something is ``translate``'s.
Errors are AWS's: LexerInvalidChar, ParseUnexpectedToken, ExpressionTooLong, ParseExpressionTooComplex,
IntegerOverflow (an integer literal past BIGINT).
"""

from __future__ import annotations

import functools
from typing import Any

import lark

from s3d.s3 import integers
from s3d.s3.errors import S3Error
from s3d.s3.select import tree as t

MAX_EXPRESSION = 256 * 1024  # AWS: an expression is at most 256 KB
MAX_DEPTH = 100
EACH = "[*]"  # a source step that iterates an array
BOTH = "BOTH"  # nesting of parentheses and operators; deeper ones are refused, not overflowed

GRAMMAR = r"""
start: "SELECT"i select_list "FROM"i source [where] [limit]

select_list: "*"                               -> star
           | item ("," item)*                  -> items
item: expr [alias]
alias: _AS? ident

source: S3OBJECT source_step* [alias]
source_step: "[" "*" "]"                       -> each
           | "." ident                         -> field
           | "[" INT "]"                       -> index

where: "WHERE"i expr
limit: "LIMIT"i INT

?expr: or_expr
?or_expr: and_expr
        | or_expr "OR"i and_expr               -> or_
?and_expr: not_expr
         | and_expr "AND"i not_expr            -> and_
?not_expr: predicate
         | "NOT"i not_expr                     -> not_
?predicate: sum
          | sum COMPARE sum                    -> compare
          | sum "IS"i [NOT] (NULL | MISSING)    -> is_null
          | sum [NOT] "LIKE"i sum [_ESCAPE sum] -> like
          | sum [NOT] "BETWEEN"i sum "AND"i sum -> between
          | sum [NOT] "IN"i "(" expr ("," expr)* ")" -> in_
?sum: product
    | sum ADD product                          -> binary
?product: unary
        | product MUL unary                    -> binary
?unary: primary
      | SIGN unary                             -> unary
?primary: literal
        | path
        | call
        | "(" expr ")"

call: ident "(" [expr ("," expr)*] ")"         -> call
    | ident "(" "*" ")"                        -> call_star
    | "CAST"i "(" expr _AS ident ")"           -> cast
    | "EXTRACT"i "(" ident "FROM"i expr ")"    -> extract
    | "TRIM"i "(" [TRIM_WHERE] [expr] "FROM"i expr ")" -> trim_from
    | "TRIM"i "(" expr ")"                     -> trim
    | "SUBSTRING"i "(" expr "FROM"i expr ["FOR"i expr] ")" -> substring
    | "SUBSTRING"i "(" expr "," expr ["," expr] ")" -> substring
    | "CASE"i [expr] when+ ["ELSE"i expr] "END"i -> case
when: "WHEN"i expr "THEN"i expr

path: ident path_step*
path_step: "." ident                           -> field
         | "[" INT "]"                         -> index

literal: STRING                                -> string
       | NUMBER                                -> number
       | INT                                   -> number
       | TRUE                                  -> true
       | FALSE                                 -> false
       | NULL                                  -> null
       | MISSING                               -> null

ident: NAME                                    -> name
     | QUOTED                                  -> quoted

_AS: "AS"i
_ESCAPE: "ESCAPE"i
NOT: "NOT"i
NULL: "NULL"i
MISSING: "MISSING"i
TRUE: "TRUE"i
FALSE: "FALSE"i
S3OBJECT: "S3Object"i
TRIM_WHERE.2: "LEADING"i | "TRAILING"i | "BOTH"i
COMPARE: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
ADD: "+" | "-" | "||"
MUL: "*" | "/" | "%"
SIGN: "-" | "+"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
QUOTED: /"(?:[^"]|"")*"/
STRING: /'(?:[^']|'')*'/
INT: /[0-9]+/
NUMBER: /[0-9]+\.[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+/
%ignore /[ \t\r\n\f]+/
"""


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=True)


def _unquote(token: str, quote: str) -> str:
    return token[1:-1].replace(quote * 2, quote)


def _integer(digits: str) -> int:
    """An integer literal (a number, an index, LIMIT's count): an SQL BIGINT, or AWS's IntegerOverflow."""
    n = integers.parse(digits, 0, integers.LONG_MAX)
    if n is None:
        raise S3Error("IntegerOverflow", "Int overflow or underflow happened in query.")
    return n


class _Build(lark.Transformer[Any, Any]):
    """The parse tree, bottom-up, as ``tree`` nodes."""

    def start(self, c: list[Any]) -> t.Query:
        return t.Query(c[0], c[1], c[2], c[3])

    def star(self, _c: list[Any]) -> t.Star:
        return t.Star()

    def items(self, c: list[t.Item]) -> tuple[t.Item, ...]:
        return tuple(c)

    def item(self, c: list[Any]) -> t.Item:
        return t.Item(c[0], c[1])

    def alias(self, c: list[t.Name]) -> t.Name:
        return c[-1]

    def source(self, c: list[Any]) -> t.Source:
        steps = tuple(None if s == EACH else s for s in c[1:-1])
        return t.Source(steps, c[-1])

    def each(self, _c: list[Any]) -> str:
        return EACH

    def field(self, c: list[t.Name]) -> t.Name:
        return c[0]

    def index(self, c: list[lark.Token]) -> t.Index:
        return t.Index(_integer(str(c[0])))

    def where(self, c: list[t.Expr]) -> t.Expr:
        return c[0]

    def limit(self, c: list[lark.Token]) -> int:
        return _integer(str(c[0]))

    def or_(self, c: list[t.Expr]) -> t.Binary:
        return t.Binary("OR", c[0], c[1])

    def and_(self, c: list[t.Expr]) -> t.Binary:
        return t.Binary("AND", c[0], c[1])

    def not_(self, c: list[t.Expr]) -> t.Unary:
        return t.Unary("NOT", c[0])

    def compare(self, c: list[Any]) -> t.Binary:
        op = "!=" if str(c[1]) == "<>" else str(c[1])
        return t.Binary(op, c[0], c[2])

    def binary(self, c: list[Any]) -> t.Binary:
        return t.Binary(str(c[1]), c[0], c[2])

    def unary(self, c: list[Any]) -> t.Unary:
        return t.Unary(str(c[0]), c[1])

    def is_null(self, c: list[Any]) -> t.IsNull:
        return t.IsNull(c[0], c[1] is not None)

    def like(self, c: list[Any]) -> t.Like:
        return t.Like(c[0], c[2], c[3], c[1] is not None)

    def between(self, c: list[Any]) -> t.Between:
        return t.Between(c[0], c[2], c[3], c[1] is not None)

    def in_(self, c: list[Any]) -> t.In:
        return t.In(c[0], tuple(c[2:]), c[1] is not None)

    def call(self, c: list[Any]) -> t.Call:
        name: t.Name = c[0]
        args = tuple(a for a in c[1:] if a is not None)
        return t.Call(name.text.upper(), args)

    def call_star(self, c: list[Any]) -> t.Call:
        return t.Call(c[0].text.upper(), (), star=True)

    def cast(self, c: list[Any]) -> t.Cast:
        return t.Cast(c[0], c[1].text.upper())

    def extract(self, c: list[Any]) -> t.Extract:
        return t.Extract(c[0].text.upper(), c[1])

    def trim_from(self, c: list[Any]) -> t.Trim:
        return t.Trim(str(c[0]).upper() if c[0] is not None else BOTH, c[1], c[2])

    def trim(self, c: list[Any]) -> t.Trim:
        return t.Trim(BOTH, None, c[0])

    def substring(self, c: list[Any]) -> t.Substring:
        return t.Substring(c[0], c[1], c[2])

    def case(self, c: list[Any]) -> t.Case:
        return t.Case(c[0], tuple(c[1:-1]), c[-1])

    def when(self, c: list[t.Expr]) -> tuple[t.Expr, t.Expr]:
        return (c[0], c[1])

    def path(self, c: list[t.Step]) -> t.Path:
        return t.Path(tuple(c))

    def string(self, c: list[lark.Token]) -> t.Literal:
        return t.Literal(_unquote(str(c[0]), "'"))

    def number(self, c: list[lark.Token]) -> t.Literal:
        text = str(c[0])
        if integers.is_digits(text):
            return t.Literal(_integer(text))
        return t.Literal(float(text))

    def true(self, _c: list[Any]) -> t.Literal:
        return t.Literal(True)

    def false(self, _c: list[Any]) -> t.Literal:
        return t.Literal(False)

    def null(self, _c: list[Any]) -> t.Literal:
        return t.Literal(None)

    def name(self, c: list[lark.Token]) -> t.Name:
        return t.Name(str(c[0]))

    def quoted(self, c: list[lark.Token]) -> t.Name:
        return t.Name(_unquote(str(c[0]), '"'), quoted=True)


def _depth(text: str) -> int:
    """The deepest nesting of parentheses (the grammar's only unbounded recursion besides operators)."""
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def parse(expression: str) -> t.Query:
    """An S3 Select expression as a syntax tree; an S3Error with AWS's code if it is not one."""
    if len(expression.encode()) > MAX_EXPRESSION:
        raise S3Error("ExpressionTooLong", "The SQL expression is too long: the maximum byte-length is 256 KB.")
    if _depth(expression) > MAX_DEPTH:
        raise S3Error("ParseExpressionTooComplex", "The SQL expression nests too deeply.")
    try:
        parsed = _parser().parse(expression)
    except lark.UnexpectedCharacters as e:
        raise S3Error("LexerInvalidChar", f"Invalid character at line {e.line}, column {e.column}.") from None
    except lark.UnexpectedToken as e:
        where = "end of input" if e.token.type == "$END" else f"'{e.token}' at line {e.line}, column {e.column}"
        raise S3Error("ParseUnexpectedToken", f"Unexpected token: {where}.") from None
    except lark.UnexpectedEOF:
        raise S3Error("ParseUnexpectedToken", "Unexpected end of the SQL expression.") from None
    try:
        query: t.Query = _Build().transform(parsed)
    except RecursionError:
        raise S3Error("ParseExpressionTooComplex", "The SQL expression nests too deeply.") from None
    except lark.exceptions.VisitError as e:  # lark wraps what a rule raises
        if isinstance(e.orig_exc, S3Error):
            raise e.orig_exc from None
        raise
    return query
