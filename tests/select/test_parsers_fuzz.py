"""Untrusted bytes: the request XML and the SQL. Any input gives a result or an S3 error, never a crash,
and any query that parses runs in DuckDB or fails with an error that maps to a 4xx."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3d.s3.errors import S3Error
from s3d.s3.select import engine, request, syntax, translate
from s3d.s3.select import tree as t
from s3d.s3.select.inputs import base_view
from s3d.s3.select.source import Counter, Piece, View, ViewFileSystem

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "SELECT", "FROM", "WHERE", "LIMIT", "S3Object", "S3Object[*]", "s", "s.a", "s.b", "_1", "_2", "_0", "*", ",", "(", ")",
    "AS", "AND", "OR", "NOT", "=", "<>", "<", ">=", "+", "-", "/", "%", "||", "'x'", "'%a'", "1", "0", "2.5", "1e400",
    "NULL", "MISSING", "TRUE", "IS", "LIKE", "ESCAPE", "'!'", "BETWEEN", "IN", "CASE", "WHEN", "THEN", "ELSE", "END",
    "CAST", "INT", "FLOAT", "STRING", "TIMESTAMP", "BOOL", "COUNT", "SUM", "AVG", "MIN", "MAX", "LOWER", "UPPER",
    "CHAR_LENGTH", "SUBSTRING", "FOR", "TRIM", "LEADING", "BOTH", "EXTRACT", "YEAR", "UTCNOW", "TO_TIMESTAMP",
    "TO_STRING", "'yyyy'", "DATE_ADD", "DATE_DIFF", "day", "NULLIF", "COALESCE", '"a"', "[0]", ".", "$", "\x00",
]  # fmt: skip
BASES = ["SELECT s.a FROM S3Object s WHERE ", "SELECT ", "SELECT * FROM S3Object s WHERE "]

sql_text = st.one_of(
    st.text(max_size=200),
    st.builds(lambda b, ts: b + " ".join(ts), st.sampled_from(BASES), st.lists(st.sampled_from(TOKENS), max_size=25)),
)


@FUZZ
@given(sql_text)
def test_sql_parses_or_is_refused(text: str) -> None:
    try:
        query = syntax.parse(text)
    except S3Error as e:
        assert e.status == 400
        return
    assert isinstance(query, t.Query)


CSV_DATA = b"a,b\n1,x\n2,y\n,\n"
CSV_REQUEST = request.SelectRequest(
    "", request.CsvInput(header=request.USE), request.NONE, request.CsvOutput(), False, None
)


def confined() -> duckdb.DuckDBPyConnection:
    """A connection set up as a query's is: the object's filesystem and nothing else."""
    con = duckdb.connect(config=engine.DUCKDB_CONFIG)
    con.execute(engine.TIME_ZONE)
    for statement in engine.CONFINE:
        con.execute(statement)
    con.register_filesystem(
        ViewFileSystem(View(lambda o, n: CSV_DATA[o : o + n], [Piece(0, len(CSV_DATA))], Counter()))
    )
    return con


def test_a_query_connection_reaches_no_local_file() -> None:
    con = confined()
    with pytest.raises(duckdb.PermissionException):
        con.sql("SELECT * FROM read_csv('/etc/hostname')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")


def run(text: str) -> list[tuple[object, ...]]:
    query = syntax.parse(text)
    con = confined()
    try:
        con.execute(base_view(CSV_REQUEST, len(CSV_DATA)))
        base = con.sql(f"SELECT * FROM {translate.BASE}")
        records = translate.Records(tuple((c, translate.ANY) for c in base.columns), True, False)
        rendered = translate.render(query, records, list(base.columns))
        return con.sql(rendered).fetchall()
    finally:
        con.close()


@FUZZ
@given(
    st.builds(lambda b, ts: b + " ".join(ts), st.sampled_from(BASES), st.lists(st.sampled_from(TOKENS), max_size=20))
)
def test_any_parsed_query_runs_or_fails_with_a_client_error(text: str) -> None:
    try:
        run(text)
    except S3Error as e:
        assert e.status in (400, 501), e
    except duckdb.Error as e:
        assert engine.s3_error(e, CSV_REQUEST).status == 400


def test_a_query_runs() -> None:
    assert run("SELECT s.a, UPPER(s.b) FROM S3Object s WHERE s.a = '2'") == [("2", "Y")]


ELEMENTS = [
    "Expression", "ExpressionType", "InputSerialization", "OutputSerialization", "CSV", "JSON", "Parquet", "Type",
    "FileHeaderInfo", "FieldDelimiter", "RecordDelimiter", "QuoteCharacter", "QuoteEscapeCharacter", "Comments",
    "CompressionType", "QuoteFields", "ScanRange", "Start", "End", "RequestProgress", "Enabled",
    "AllowQuotedRecordDelimiter",
]  # fmt: skip
VALUES = [
    "SQL",
    "SELECT * FROM S3Object",
    "USE",
    "NONE",
    "GZIP",
    "LINES",
    "DOCUMENT",
    ",",
    "\r\n",
    "",
    "-1",
    "10",
    "true",
]


def element(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(VALUES), st.text(max_size=10).map(lambda s: s.replace("<", "").replace("&", "")))
    if depth == 0:
        return leaf
    child = st.builds(lambda n, inner: f"<{n}>{inner}</{n}>", st.sampled_from(ELEMENTS), element(depth - 1))
    return st.one_of(leaf, st.lists(child, max_size=5).map("".join))


documents = st.one_of(
    st.binary(max_size=300),
    element(4).map(lambda inner: f"<SelectObjectContentRequest>{inner}</SelectObjectContentRequest>".encode()),
)


@FUZZ
@given(documents)
def test_request_document_parses_or_is_refused(body: bytes) -> None:
    try:
        req = request.parse(body)
    except S3Error as e:
        assert e.status in (400, 501)
        return
    assert isinstance(req, request.SelectRequest)


def test_a_request_document_parses() -> None:
    req = request.parse(
        b"<SelectObjectContentRequest><Expression>SELECT * FROM S3Object</Expression><ExpressionType>SQL</ExpressionType>"
        b"<InputSerialization><CSV><FileHeaderInfo>USE</FileHeaderInfo><RecordDelimiter>\r\n</RecordDelimiter></CSV>"
        b"</InputSerialization><OutputSerialization><JSON/></OutputSerialization>"
        b"<ScanRange><Start>5</Start></ScanRange></SelectObjectContentRequest>"
    )
    assert req.input == request.CsvInput(header=request.USE, record_delimiter="\r\n")
    assert req.output == request.JsonOutput()
    assert req.scan_range == request.ScanRange(5, None)
