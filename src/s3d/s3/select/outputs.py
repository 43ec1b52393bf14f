"""OutputSerialization as DuckDB writes it: the COPY options that make the result CSV or JSON records.

DuckDB serializes the rows itself (``COPY (query) TO``) into the query's sink (``sink.py``), so no row
becomes a Python object on the way out.
"""

from __future__ import annotations

from s3d.s3.select import request as rq
from s3d.s3.select.translate import quote_string

# timestamps as ISO 8601 in UTC, to the millisecond
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%gZ"
JSON_LINE_END = b"\n"  # DuckDB ends each JSON record with it; a JSON record holds no raw newline


def copy_options(out: rq.Output) -> str:
    options = [f"TIMESTAMPFORMAT {quote_string(TIMESTAMP_FORMAT)}", "USE_TMP_FILE false"]
    if isinstance(out, rq.JsonOutput):
        return ", ".join(["FORMAT json", *options])
    options += [
        "FORMAT csv",
        "HEADER false",
        f"DELIMITER {quote_string(out.field_delimiter)}",
        f"QUOTE {quote_string(out.quote)}",
        f"ESCAPE {quote_string(out.quote_escape)}",
        f"NEW_LINE {quote_string(out.record_delimiter)}",
    ]
    if out.quote_fields == rq.ALWAYS:
        options.append("FORCE_QUOTE *")
    return ", ".join(options)


def json_delimiter(out: rq.Output) -> bytes | None:
    """The JSON record delimiter to put in place of DuckDB's newline, if it is another."""
    if isinstance(out, rq.JsonOutput) and out.record_delimiter.encode() != JSON_LINE_END:
        return out.record_delimiter.encode()
    return None
