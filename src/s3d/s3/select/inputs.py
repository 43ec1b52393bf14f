"""InputSerialization as DuckDB reads it: the base view's SQL (read_csv / read_json / read_parquet)."""

from __future__ import annotations

from s3d.s3.select import request as rq
from s3d.s3.select.source import URL
from s3d.s3.select.translate import BASE, VALUE, quote_ident, quote_string

# CSV fields are strings, and an empty field is the empty string: no field is NULL
NO_NULL_FIELD = "\x01"
JSON_FORMATS = {rq.DOCUMENT: "unstructured", rq.LINES: "newline_delimited"}
# GZIP is DuckDB's own; BZIP2 is decompressed before DuckDB reads it (see engine.py)
# RecordDelimiter as read_csv's new_line (written escaped); "\n" is left to DuckDB, which also reads "\r\n" then
NEW_LINE = {"\r\n": "\\r\\n", "\r": "\\r"}
JSON_WHOLE_SCHEMA = 64 * 1024 * 1024  # bytes of JSON whose every record shapes the schema
JSON_SAMPLE = 20480  # records that shape the schema of a larger JSON object (DuckDB's default)
EVERY_RECORD = -1
CSV_BUFFER = 8 * 1024 * 1024  # bytes per CSV read: scans faster through the filesystem than DuckDB's 32 MB
CSV_COMPRESSION = {rq.NONE: "none", rq.GZIP: "gzip", rq.BZIP2: "none"}
JSON_COMPRESSION = {rq.NONE: "uncompressed", rq.GZIP: "gzip", rq.BZIP2: "uncompressed"}


def _option(name: str, value: str | bool | int) -> str:
    if isinstance(value, bool):
        return f"{name}={'true' if value else 'false'}"
    if isinstance(value, int):
        return f"{name}={value}"
    return f"{name}={quote_string(value)}"


def base_view(req: rq.SelectRequest, size: int) -> str:
    """CREATE VIEW s3object: one row per record (CSV, Parquet: its columns; JSON: one column, VALUE).

    ``size``: the bytes DuckDB reads; a JSON object up to JSON_WHOLE_SCHEMA has its fields learned
    from every record, a larger one from the first JSON_SAMPLE records (a second pass would double
    the scan)."""
    inp = req.input
    if isinstance(inp, rq.CsvInput):
        options = [
            _option("all_varchar", True),
            _option("header", inp.header != rq.NONE),
            _option("delim", inp.field_delimiter),
            _option("quote", inp.quote),
            _option("escape", inp.quote_escape),
            _option("compression", CSV_COMPRESSION[req.compression]),
            _option("nullstr", NO_NULL_FIELD),
            _option("null_padding", True),
            _option("strict_mode", False),
            _option("buffer_size", CSV_BUFFER),
        ]
        if inp.record_delimiter in NEW_LINE:
            options.append(_option("new_line", NEW_LINE[inp.record_delimiter]))
        if inp.comments:
            options.append(_option("comment", inp.comments))
        body = f"SELECT * FROM read_csv({quote_string(URL)}, {', '.join(options)})"
    elif isinstance(inp, rq.JsonInput):
        options = [
            _option("format", JSON_FORMATS[inp.type]),
            _option("records", False),
            _option("compression", JSON_COMPRESSION[req.compression]),
            _option("sample_size", EVERY_RECORD if size <= JSON_WHOLE_SCHEMA else JSON_SAMPLE),
        ]
        body = f"SELECT json AS {quote_ident(VALUE)} FROM read_json({quote_string(URL)}, {', '.join(options)})"
    else:
        body = f"SELECT * FROM read_parquet({quote_string(URL)})"
    return f"CREATE TEMP VIEW {BASE} AS {body}"
