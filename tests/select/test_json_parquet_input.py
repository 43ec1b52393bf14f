"""JSON (LINES, DOCUMENT) and Parquet objects through SelectObjectContent, checked against DuckDB."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path
from typing import Any

import duckdb

from tests.select.conftest import csv_rows, duck, json_rows, people_json_lines, select

LINES = {"JSON": {"Type": "LINES"}}
DOCUMENT = {"JSON": {"Type": "DOCUMENT"}}


def json_file(tmp_path: Path) -> Path:
    p = tmp_path / "people.jsonl"
    p.write_bytes(people_json_lines())
    return p


def test_json_lines_nested_paths(s3: Any, bucket: str, tmp_path: Path) -> None:
    path = json_file(tmp_path)
    s3.put_object(Bucket=bucket, Key="p.json", Body=path.read_bytes())
    got, _ = select(
        s3,
        bucket,
        "p.json",
        "SELECT s.name, s.address.city, s.tags[1] FROM S3Object[*] s WHERE s.age > 70",
        LINES,
        {"JSON": {}},
    )
    want = duck(
        f"SELECT name, address.city, tags[2] FROM read_json('{path}', format='newline_delimited') WHERE age > 70"
    )
    assert [(r["name"], r["city"], r["_3"]) for r in json_rows(got)] == want
    assert len(want) > 5


def test_json_select_star_gives_the_records(s3: Any, bucket: str, tmp_path: Path) -> None:
    body = b'{"a":1,"b":{"c":[1,2]}}\n{"a":2,"b":{"c":[]}}\n'
    s3.put_object(Bucket=bucket, Key="r.json", Body=body)
    got, _ = select(s3, bucket, "r.json", "SELECT * FROM S3Object", LINES, {"JSON": {}})
    assert json_rows(got) == [json.loads(line) for line in body.splitlines()]


def test_json_missing_field_is_missing(s3: Any, bucket: str, tmp_path: Path) -> None:
    path = json_file(tmp_path)
    s3.put_object(Bucket=bucket, Key="p.json", Body=path.read_bytes())
    got, _ = select(
        s3, bucket, "p.json", "SELECT COUNT(*) FROM S3Object s WHERE s.note IS NULL AND s.nothing IS NULL", LINES
    )
    want = duck(f"SELECT count(*) FROM read_json('{path}', format='newline_delimited') WHERE note IS NULL")
    assert csv_rows(got) == want


def test_json_document_with_a_path_into_arrays(s3: Any, bucket: str) -> None:
    doc = {"rules": [{"id": "a", "n": 1}, {"id": "b", "n": 5}, {"id": "c", "n": 9}]}
    s3.put_object(Bucket=bucket, Key="d.json", Body=json.dumps(doc, indent=2).encode())
    got, _ = select(
        s3, bucket, "d.json", "SELECT r.id FROM S3Object[*].rules[*] r WHERE r.n > 2", DOCUMENT, {"JSON": {}}
    )
    assert json_rows(got) == [{"id": "b"}, {"id": "c"}]


def test_json_gzip_and_bzip2(s3: Any, bucket: str, tmp_path: Path) -> None:
    path = json_file(tmp_path)
    raw = path.read_bytes()
    want = duck(f"SELECT name FROM read_json('{path}', format='newline_delimited') WHERE address.city = 'Turin'")
    for key, kind, body in (("p.json.gz", "GZIP", gzip.compress(raw)), ("p.json.bz2", "BZIP2", bz2.compress(raw))):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        inp = {"JSON": {"Type": "LINES"}, "CompressionType": kind}
        got, _ = select(s3, bucket, key, "SELECT s.name FROM S3Object s WHERE s.address.city = 'Turin'", inp)
        assert csv_rows(got) == want, kind


def test_json_to_csv_output(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r.json", Body=b'{"a":1,"b":"x,y"}\n{"a":2,"b":null}\n')
    got, _ = select(s3, bucket, "r.json", "SELECT * FROM S3Object", LINES)
    assert got == b'1,"x,y"\n2,\n'


def parquet_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.parquet"
    duckdb.sql(
        "COPY (SELECT i AS id, 'name' || i AS name, i % 10 AS bucket, i * 1.5 AS price, {'k': i % 3} AS info "
        f"FROM range(20000) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)"
    )
    return path


def test_parquet_columns_and_aggregates(s3: Any, bucket: str, tmp_path: Path) -> None:
    path = parquet_file(tmp_path)
    s3.put_object(Bucket=bucket, Key="t.parquet", Body=path.read_bytes())
    inp = {"Parquet": {}}
    got, _ = select(
        s3, bucket, "t.parquet", "SELECT s.id, s.name, s.info.k FROM S3Object s WHERE s.bucket = 3 AND s.id < 200", inp
    )
    want = duck(f"SELECT id, name, info.k FROM read_parquet('{path}') WHERE bucket = 3 AND id < 200")
    assert csv_rows(got) == want
    got, _ = select(
        s3, bucket, "t.parquet", "SELECT COUNT(*), SUM(s.price), MAX(s.name) FROM S3Object s WHERE s.bucket > 6", inp
    )
    assert csv_rows(got) == duck(f"SELECT count(*), sum(price), max(name) FROM read_parquet('{path}') WHERE bucket > 6")


def test_parquet_reads_only_what_the_query_needs(s3: Any, bucket: str, tmp_path: Path) -> None:
    path = parquet_file(tmp_path)
    size = path.stat().st_size
    s3.put_object(Bucket=bucket, Key="t.parquet", Body=path.read_bytes())
    _, evs = select(s3, bucket, "t.parquet", "SELECT MAX(s.id) FROM S3Object s", {"Parquet": {}})
    stats = next(e["Stats"]["Details"] for e in evs if "Stats" in e)
    assert 0 < stats["BytesScanned"] < size  # one column of five, and the footer


def test_json_document_that_is_an_array_is_iterated_by_the_star(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a.json", Body=b'[{"a": 1}, {"a": 2}, {"a": 3}]')
    got, _ = select(s3, bucket, "a.json", "SELECT s.a FROM S3Object[*] s WHERE s.a > 1", DOCUMENT, {"JSON": {}})
    assert json_rows(got) == [{"a": 2}, {"a": 3}]


def test_is_missing(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="m.json", Body=b'{"a":1,"b":2}\n{"a":2}\n')
    got, _ = select(s3, bucket, "m.json", "SELECT s.a FROM S3Object s WHERE s.b IS MISSING", LINES, {"JSON": {}})
    assert json_rows(got) == [{"a": 2}]


def test_a_field_that_first_appears_late_is_found(s3: Any, bucket: str) -> None:
    lines = [json.dumps({"n": i}) for i in range(30000)] + [json.dumps({"n": 30000, "late": "here"})]
    s3.put_object(Bucket=bucket, Key="late.json", Body="\n".join(lines).encode())
    got, _ = select(s3, bucket, "late.json", "SELECT s.n FROM S3Object s WHERE s.late = 'here'", LINES, {"JSON": {}})
    assert json_rows(got) == [{"n": 30000}]
