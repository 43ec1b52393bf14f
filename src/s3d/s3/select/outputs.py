"""OutputSerialization: result rows as CSV or JSON records (bytes for Records events)."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from s3d.s3.select import request as rq

Row = Sequence[Any]


def scalar_text(value: Any) -> str:
    """A value as S3 Select writes it in CSV (and in JSON where JSON has no type for it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        return text + "Z" if value.tzinfo is None else text
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, dict | list):
        return json.dumps(_jsonable(value), separators=(",", ":"))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return scalar_text(value)


Writer = Callable[[Sequence[Row]], bytes]


def csv_writer(out: rq.CsvOutput) -> Writer:
    quoting = csv.QUOTE_ALL if out.quote_fields == rq.ALWAYS else csv.QUOTE_MINIMAL
    doubled = out.quote_escape == out.quote
    options: dict[str, Any] = {
        "delimiter": out.field_delimiter,
        "quotechar": out.quote,
        "lineterminator": out.record_delimiter,
        "quoting": quoting,
        "doublequote": doubled,
    }
    if not doubled:
        options["escapechar"] = out.quote_escape

    def write(rows: Sequence[Row]) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, **options)
        w.writerows([scalar_text(v) for v in row] for row in rows)
        return buf.getvalue().encode()

    return write


def json_writer(out: rq.JsonOutput, names: list[str], whole_record: bool) -> Writer:
    """Each row as one JSON object (``whole_record``: the row's one value is the record itself)."""
    delimiter = out.record_delimiter

    def record(row: Row) -> Any:
        if whole_record:
            value = row[0]
            return _jsonable(value) if isinstance(value, dict) else {"_1": _jsonable(value)}
        return {name: _jsonable(v) for name, v in zip(names, row, strict=False)}

    def write(rows: Sequence[Row]) -> bytes:
        return "".join(json.dumps(record(row), separators=(",", ":")) + delimiter for row in rows).encode()

    return write


def writer(out: rq.Output, names: list[str], whole_record: bool) -> Writer:
    if isinstance(out, rq.CsvOutput):
        if whole_record:
            return _record_as_csv(csv_writer(out))
        return csv_writer(out)
    return json_writer(out, names, whole_record)


def _record_as_csv(inner: Writer) -> Writer:
    """SELECT * of JSON records to CSV: each record's values, in order."""

    def write(rows: Sequence[Row]) -> bytes:
        flat: list[Row] = [list(r[0].values()) if isinstance(r[0], dict) else [r[0]] for r in rows]
        return inner(flat)

    return write
