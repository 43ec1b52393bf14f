"""An S3 Select syntax tree rendered as one DuckDB SQL query (an AST-to-text printer, not an interpreter).

Paths are resolved against the record's shape as DuckDB found it in the object (``Shape``): a name the
object does not have is S3 Select's MISSING, rendered as NULL. Everything rendered comes from the tree:
identifiers and string literals are quoted here, function names come from the tables below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from s3d.s3 import integers
from s3d.s3.errors import S3Error
from s3d.s3.select import tree as t

BASE = "s3object"  # the view over the object's records (see inputs.py)
VALUE = "r"  # JSON: the one column of the base view, holding each record
NULL = "NULL"
POSITIONAL = "_"  # _1, _2...: CSV columns by position


@dataclass(frozen=True, slots=True)
class Shape:
    """A DuckDB type, as far as paths need it: a struct's fields, a list's element, or a scalar."""

    kind: str  # STRUCT, LIST or SCALAR (any other type)
    fields: tuple[tuple[str, Shape], ...] = ()
    element: Shape | None = None


STRUCT, LIST, SCALAR = "STRUCT", "LIST", "SCALAR"
ANY = Shape(SCALAR)


@dataclass(frozen=True, slots=True)
class Records:
    """What a record is: the base view's columns (CSV, Parquet) or its one value column (JSON)."""

    columns: tuple[tuple[str, Shape], ...]
    positional: bool  # CSV: _1 ... _N name the columns by position
    by_value: bool  # JSON: each record is the value in column VALUE


AGGREGATES = {"COUNT": "count", "SUM": "sum", "AVG": "avg", "MIN": "min", "MAX": "max"}
PLAIN = {  # S3 Select function -> DuckDB function, same arguments
    "CHAR_LENGTH": ("length", 1),
    "CHARACTER_LENGTH": ("length", 1),
    "LOWER": ("lower", 1),
    "UPPER": ("upper", 1),
    "NULLIF": ("nullif", 2),
}
TYPES = {
    "BOOL": "BOOLEAN",
    "BOOLEAN": "BOOLEAN",
    "INT": "BIGINT",
    "INTEGER": "BIGINT",
    "STRING": "VARCHAR",
    "FLOAT": "DOUBLE",
    "DOUBLE": "DOUBLE",
    "DECIMAL": "DOUBLE",
    "NUMERIC": "DOUBLE",
    "TIMESTAMP": "TIMESTAMP",
}
DATE_PARTS = {
    "YEAR": "years",
    "MONTH": "months",
    "DAY": "days",
    "HOUR": "hours",
    "MINUTE": "minutes",
    "SECOND": "seconds",
}
EXTRACT_PARTS = {*DATE_PARTS, "TIMEZONE_HOUR", "TIMEZONE_MINUTE"}
TRIMS = {"BOTH": "trim", "LEADING": "ltrim", "TRAILING": "rtrim"}
DEFAULT_TRIM = " "
# TO_STRING patterns (Java's DateTimeFormatter letters, as AWS documents them) -> strftime
TIME_PATTERN = (
    ("yyyy", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("M", "%-m"),
    ("dd", "%d"), ("d", "%-d"), ("HH", "%H"), ("H", "%-H"), ("hh", "%I"), ("h", "%-I"), ("a", "%p"),
    ("mm", "%M"), ("m", "%-M"), ("ss", "%S"), ("s", "%-S"), ("SSSSSS", "%f"), ("SSS", "%g"),
    ("n", "%n"), ("XXX", "%z"), ("X", "%z"), ("y", "%Y"),
)  # fmt: skip
# AWS timestamps (2007T, 2007-02T, 2007-02-23T12:14Z ...) made into what DuckDB casts
TIMESTAMP_FORMS = (
    (r"T$", ""),
    (r"^(\d{4})$", r"\1-01-01"),
    (r"^(\d{4}-\d{2})$", r"\1-01"),
    (r"T(\d{2}:\d{2})([Z+-])", r"T\1:00\2"),
)


def unsupported(message: str) -> S3Error:
    return S3Error("UnsupportedSyntax", message)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _literal(value: str | int | float | bool | None) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST({quote_string(repr(value))} AS DOUBLE)"
    return quote_string(value)


def _find(fields: tuple[tuple[str, Shape], ...], name: t.Name) -> tuple[str, Shape] | None:
    if name.quoted:
        return next(((n, s) for n, s in fields if n == name.text), None)
    found = [(n, s) for n, s in fields if n.lower() == name.text.lower()]
    if len(found) > 1:
        raise S3Error("AmbiguousFieldName", f"The field name {name.text} matches several fields; quote it.")
    return found[0] if found else None


@dataclass
class _Renderer:
    records: Records
    alias: t.Name | None
    value_shape: Shape = ANY  # JSON: the shape of each record after the FROM path
    aggregates: int = field(default=0)

    # ---------- paths ----------
    def _is_alias(self, step: t.Step) -> bool:
        if not isinstance(step, t.Name):
            return False
        names = {BASE} if self.alias is None else {self.alias.text.lower()}
        return (
            step.text.lower() in names if not step.quoted else step.text in ({self.alias.text} if self.alias else set())
        )

    def path(self, p: t.Path) -> str:
        steps = p.steps
        if len(steps) > 1 and self._is_alias(steps[0]):
            steps = steps[1:]
        elif len(steps) == 1 and self._is_alias(steps[0]) and self.records.by_value:
            return quote_ident(VALUE)  # the record itself
        if self.records.by_value:
            return self._walk(quote_ident(VALUE), self.value_shape, steps)
        first = steps[0]
        if isinstance(first, t.Index):
            raise unsupported("A path cannot start with an array index.")
        column = self._column(first)
        if column is None:
            return NULL
        return self._walk(quote_ident(column[0]), column[1], steps[1:])

    def _column(self, name: t.Name) -> tuple[str, Shape] | None:
        text = name.text
        position = text[len(POSITIONAL) :]
        if self.records.positional and not name.quoted and text.startswith(POSITIONAL) and integers.is_digits(position):
            n = integers.parse(position, 0)  # None: more columns than any record has
            if n == 0:
                raise S3Error("InvalidColumnIndex", f"The column index {text} is invalid: columns count from _1.")
            return self.records.columns[n - 1] if n is not None and n <= len(self.records.columns) else None
        return _find(self.records.columns, name)

    def _walk(self, sql: str, shape: Shape, steps: tuple[t.Step, ...]) -> str:
        for step in steps:
            if isinstance(step, t.Index):
                if shape.kind != LIST or shape.element is None:
                    return NULL
                sql, shape = f"list_extract({sql}, {step.position + 1})", shape.element
                continue
            if shape.kind != STRUCT:
                return NULL
            found = _find(shape.fields, step)
            if found is None:
                return NULL
            sql, shape = f"struct_extract({sql}, {quote_string(found[0])})", found[1]
        return sql

    # ---------- expressions ----------
    def expr(self, e: t.Expr) -> str:
        if isinstance(e, t.Path):
            return self.path(e)
        if isinstance(e, t.Literal):
            return _literal(e.value)
        if isinstance(e, t.Unary):
            return f"(NOT {self.expr(e.operand)})" if e.op == "NOT" else f"({e.op}{self.expr(e.operand)})"
        if isinstance(e, t.Binary):
            return f"({self.expr(e.left)} {e.op} {self.expr(e.right)})"
        if isinstance(e, t.IsNull):
            return f"({self.expr(e.operand)} IS {'NOT ' if e.negated else ''}NULL)"
        if isinstance(e, t.Like):
            escape = f" ESCAPE {self.expr(e.escape)}" if e.escape is not None else ""
            return f"({self.expr(e.operand)} {'NOT ' if e.negated else ''}LIKE {self.expr(e.pattern)}{escape})"
        if isinstance(e, t.Between):
            neg = "NOT " if e.negated else ""
            return f"({self.expr(e.operand)} {neg}BETWEEN {self.expr(e.low)} AND {self.expr(e.high)})"
        if isinstance(e, t.In):
            choices = ", ".join(self.expr(c) for c in e.choices)
            return f"({self.expr(e.operand)} {'NOT ' if e.negated else ''}IN ({choices}))"
        if isinstance(e, t.Cast):
            target = TYPES.get(e.type_name)
            if target is None:
                raise S3Error("ParseInvalidTypeParam", f"CAST to {e.type_name} is not supported.")
            if target == "TIMESTAMP":
                return self._timestamp(self.expr(e.operand))
            return f"CAST({self.expr(e.operand)} AS {target})"
        if isinstance(e, t.Extract):
            if e.part not in EXTRACT_PARTS:
                raise S3Error("ParseInvalidTypeParam", f"EXTRACT of {e.part} is not supported.")
            return f"extract({e.part.lower()} FROM {self.expr(e.operand)})"
        if isinstance(e, t.Trim):
            chars = self.expr(e.characters) if e.characters is not None else quote_string(DEFAULT_TRIM)
            return f"{TRIMS[e.where]}({self.expr(e.operand)}, {chars})"
        if isinstance(e, t.Substring):
            return self._substring(e)
        if isinstance(e, t.Case):
            return self._case(e)
        return self._call(e)

    @staticmethod
    def _timestamp(sql: str) -> str:
        for pattern, replacement in TIMESTAMP_FORMS:
            sql = f"regexp_replace({sql}, {quote_string(pattern)}, {quote_string(replacement)})"
        return f"CAST(CAST({sql} AS TIMESTAMPTZ) AS TIMESTAMP)"

    def _substring(self, e: t.Substring) -> str:
        # SQL's rule (characters from max(start, 1) to start + length - 1), not DuckDB's negative starts
        s, start = self.expr(e.operand), self.expr(e.start)
        first = f"greatest({start}, 1)"
        if e.length is None:
            return f"substring({s}, {first})"
        return f"substring({s}, {first}, greatest({start} + {self.expr(e.length)} - {first}, 0))"

    def _case(self, e: t.Case) -> str:
        out = ["CASE"]
        if e.subject is not None:
            out.append(self.expr(e.subject))
        for cond, then in e.whens:
            out.append(f"WHEN {self.expr(cond)} THEN {self.expr(then)}")
        if e.otherwise is not None:
            out.append(f"ELSE {self.expr(e.otherwise)}")
        out.append("END")
        return "(" + " ".join(out) + ")"

    def _arity(self, c: t.Call, low: int, high: int | None = None) -> None:
        if not low <= len(c.args) <= (low if high is None else high) or c.star:
            raise S3Error("EvaluatorInvalidArguments", f"Incorrect number of arguments in the call to {c.name}.")

    def _part(self, c: t.Call) -> str:
        arg = c.args[0]
        if not (isinstance(arg, t.Path) and len(arg.steps) == 1 and isinstance(arg.steps[0], t.Name)):
            raise S3Error("ParseInvalidTypeParam", f"{c.name} takes a date part (year ... second) first.")
        part = arg.steps[0].text.upper()
        if part not in DATE_PARTS:
            raise S3Error("ParseInvalidTypeParam", f"{c.name} does not take the date part {part}.")
        return part

    def _call(self, c: t.Call) -> str:
        if c.name in AGGREGATES:
            if self.aggregates < 0:
                raise unsupported("Aggregate functions are not allowed in WHERE or inside another aggregate.")
            if c.star and c.name != "COUNT":
                raise unsupported(f"{c.name}(*) is not supported.")
            if c.star:
                self.aggregates += 1
                return "count(*)"
            self._arity(c, 1)
            saved, self.aggregates = self.aggregates, -1
            inner = self.expr(c.args[0])
            self.aggregates = saved + 1
            return f"{AGGREGATES[c.name]}({inner})"
        if c.name in PLAIN:
            fn, n = PLAIN[c.name]
            self._arity(c, n)
            return f"{fn}({', '.join(self.expr(a) for a in c.args)})"
        if c.name == "COALESCE":
            self._arity(c, 1, 1 << 16)
            return f"coalesce({', '.join(self.expr(a) for a in c.args)})"
        if c.name == "UTCNOW":
            self._arity(c, 0)
            return "CAST(get_current_timestamp() AS TIMESTAMP)"
        if c.name == "TO_TIMESTAMP":
            self._arity(c, 1)
            return self._timestamp(self.expr(c.args[0]))
        if c.name == "TO_STRING":
            self._arity(c, 2)
            pattern = c.args[1]
            if not isinstance(pattern, t.Literal) or not isinstance(pattern.value, str):
                raise S3Error("ParseInvalidTypeParam", "TO_STRING takes a pattern given as a string literal.")
            return f"strftime({self.expr(c.args[0])}, {quote_string(strftime_pattern(pattern.value))})"
        if c.name == "DATE_ADD":
            self._arity(c, 3)
            unit = DATE_PARTS[self._part(c)]
            amount = self.expr(c.args[1])
            if unit == "seconds":
                return f"({self.expr(c.args[2])} + to_seconds(CAST({amount} AS DOUBLE)))"
            return f"({self.expr(c.args[2])} + to_{unit}(CAST({amount} AS INTEGER)))"
        if c.name == "DATE_DIFF":
            self._arity(c, 3)
            part = quote_string(self._part(c).lower())
            return f"date_diff({part}, {self.expr(c.args[1])}, {self.expr(c.args[2])})"
        raise S3Error("UnsupportedFunction", f"The function {c.name} is not supported.")


def strftime_pattern(pattern: str) -> str:
    """A TO_STRING pattern in strftime's terms; text in single quotes stays as it is."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1 : end].replace("%", "%%"))
            i = end + 1
            continue
        for token, code in TIME_PATTERN:
            if pattern.startswith(token, i):
                out.append(code)
                i += len(token)
                break
        else:
            if pattern[i].isalpha():
                raise S3Error("InvalidDataType", f"The TO_STRING pattern letter {pattern[i]!r} is not supported.")
            out.append("%%" if pattern[i] == "%" else pattern[i])
            i += 1
    return "".join(out)


def _source(query: t.Query, records: Records) -> tuple[str, Shape]:
    """The FROM clause (S3Object[*].a[*] ...) and the shape of each record it yields."""
    steps = list(query.source.steps)
    if not records.by_value:
        while steps and steps[0] is None:
            steps.pop(0)  # S3Object[*] is each record of the object
        if steps:
            raise unsupported("A path after S3Object is only supported for JSON objects.")
        return BASE, ANY
    sql = BASE
    shape = records.columns[0][1]
    if steps and steps[0] is None and shape.kind != LIST:
        steps.pop(0)  # S3Object[*] is each record, unless the record is an array: then each of its elements
    value = quote_ident(VALUE)
    for step in steps:
        if step is None:
            if shape.kind == LIST and shape.element is not None:
                sql, shape = f"(SELECT unnest({value}) AS {value} FROM {sql})", shape.element
            continue
        if isinstance(step, t.Index):
            if shape.kind != LIST or shape.element is None:
                sql, shape = f"(SELECT NULL AS {value} FROM {sql})", ANY
            else:
                sql = f"(SELECT list_extract({value}, {step.position + 1}) AS {value} FROM {sql})"
                shape = shape.element
            continue
        found = _find(shape.fields, step) if shape.kind == STRUCT else None
        if found is None:
            sql, shape = f"(SELECT NULL AS {value} FROM {sql})", ANY
        else:
            sql = f"(SELECT struct_extract({value}, {quote_string(found[0])}) AS {value} FROM {sql})"
            shape = found[1]
    return sql, shape


def _output_name(item: t.Item, position: int) -> str:
    if item.alias is not None:
        return item.alias.text
    if isinstance(item.expr, t.Path) and isinstance(item.expr.steps[-1], t.Name):
        return item.expr.steps[-1].text
    return f"{POSITIONAL}{position}"


def render(query: t.Query, records: Records, star_names: list[str]) -> str:
    """The DuckDB query for an S3 Select query over these records, its columns named as the output names
    them (``star_names``: the names of SELECT * over CSV or Parquet columns)."""
    source, shape = _source(query, records)
    r = _Renderer(records, query.source.alias, shape)
    try:
        return _render(query, records, star_names, source, r)
    except RecursionError:
        raise S3Error("ParseExpressionTooComplex", "The SQL expression nests too deeply.") from None


def _star(records: Records, star_names: list[str], shape: Shape) -> str:
    if records.by_value:  # each JSON record as it is: its fields, or a value that is not an object as _1
        value = quote_ident(VALUE)
        return f"{value}.*" if shape.kind == STRUCT and shape.fields else f"{value} AS {quote_ident(POSITIONAL + '1')}"
    return ", ".join(
        f"{quote_ident(column)} AS {quote_ident(name)}"
        for (column, _), name in zip(records.columns, star_names, strict=True)
    )


def _render(query: t.Query, records: Records, star_names: list[str], source: str, r: _Renderer) -> str:
    if isinstance(query.items, t.Star):
        select = _star(records, star_names, r.value_shape)
    else:
        parts: list[str] = []
        used: set[str] = set()
        plain = 0
        for i, item in enumerate(query.items, 1):
            before = r.aggregates
            name = _output_name(item, i)
            name = f"{POSITIONAL}{i}" if name in used else name  # a JSON record names each field once
            used.add(name)
            parts.append(f"{r.expr(item.expr)} AS {quote_ident(name)}")
            if r.aggregates == before and not isinstance(item.expr, t.Literal):
                plain += 1
        if r.aggregates and plain:
            raise unsupported("Aggregate and non-aggregate expressions cannot be mixed in the SELECT list.")
        select = ", ".join(parts)
    sql = f"SELECT {select} FROM {source}"
    if query.where is not None:
        r.aggregates = -1
        sql += f" WHERE {r.expr(query.where)}"
    if query.limit is not None:
        sql += f" LIMIT {query.limit}"
    return sql
