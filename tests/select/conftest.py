"""Helpers for S3 Select tests: run a query with boto3 and compare with DuckDB run on the same file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

PEOPLE_ROWS = 300
CITIES = ("Lyon", "Paris", "Oslo", "Turin", "Kyoto")
HEADER = ("name", "age", "city", "joined", "score", "note")


def people() -> list[tuple[str, ...]]:
    """Deterministic rows: names, ages, cities, ISO dates, decimal scores, an optional note."""
    out = []
    for i in range(PEOPLE_ROWS):
        note = "" if i % 7 == 0 else f"  note {i} with 50% off_{i % 3}  "
        joined = f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
        out.append(
            (f"Person{i}", str(18 + (i * 7) % 60), CITIES[i % len(CITIES)], joined, f"{(i * 37) % 1000 / 10}", note)
        )
    return out


def people_csv(delimiter: str = ",", header: bool = True) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    if header:
        w.writerow(HEADER)
    w.writerows(people())
    return buf.getvalue().encode()


def people_json_lines() -> bytes:
    lines = []
    for name, age, city, joined, score, note in people():
        rec: dict[str, Any] = {"name": name, "age": int(age), "address": {"city": city}, "joined": joined}
        rec["score"] = float(score)
        rec["tags"] = [city.lower(), f"t{int(age) % 3}"]
        if note:
            rec["note"] = note
        lines.append(json.dumps(rec))
    return ("\n".join(lines) + "\n").encode()


def select(s3: Any, bucket: str, key: str, expression: str, inp: dict[str, Any], out: dict[str, Any] | None = None,
           **extra: Any) -> tuple[bytes, list[dict[str, Any]]]:  # fmt: skip
    """The records' bytes and every event, as boto3 decodes the event stream."""
    r = s3.select_object_content(
        Bucket=bucket, Key=key, Expression=expression, ExpressionType="SQL",
        InputSerialization=inp, OutputSerialization=out or {"CSV": {}}, **extra,
    )  # fmt: skip
    evs = list(r["Payload"])
    data = b"".join(e["Records"]["Payload"] for e in evs if "Records" in e)
    return data, evs


def csv_rows(data: bytes) -> list[tuple[str, ...]]:
    return [tuple(r) for r in csv.reader(io.StringIO(data.decode()))]


def json_rows(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines() if line]


def duck(sql: str) -> list[tuple[str, ...]]:
    """Rows DuckDB gives for a query, each value as S3 Select writes it in CSV."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return [tuple("" if v is None else _text(v) for v in row) for row in con.sql(sql).fetchall()]


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


@pytest.fixture
def people_file(tmp_path: Path) -> Path:
    p = tmp_path / "people.csv"
    p.write_bytes(people_csv())
    return p
