"""Each family of S3 Select functions and operators, checked against DuckDB run on the same CSV file."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.select.conftest import csv_rows, duck, select

USE = {"CSV": {"FileHeaderInfo": "USE"}}


def src(path: Path) -> str:
    return f"read_csv('{path}', all_varchar=true, header=true)"


def ts(column: str) -> str:
    return f"CAST(CAST({column} AS TIMESTAMPTZ) AS TIMESTAMP)"


# (S3 Select expression, the same question in DuckDB's own SQL over the file)
CASES = {
    "strings": (
        "SELECT CHAR_LENGTH(s.name), CHARACTER_LENGTH(s.city), LOWER(s.name), UPPER(s.city), s.name || '-' || s.city "
        "FROM S3Object s LIMIT 20",
        "SELECT length(name), length(city), lower(name), upper(city), name || '-' || city FROM {src} LIMIT 20",
    ),
    "substring": (
        "SELECT SUBSTRING(s.name FROM 2 FOR 3), SUBSTRING(s.name, 3), SUBSTRING(s.name, 0, 3), SUBSTRING(s.city FROM -1 FOR 3) "
        "FROM S3Object s LIMIT 20",
        "SELECT substr(name, 2, 3), substr(name, 3), substr(name, 1, 2), substr(city, 1, 1) FROM {src} LIMIT 20",
    ),
    "trim": (
        "SELECT TRIM(s.note), TRIM(LEADING FROM s.note), TRIM(TRAILING FROM s.note), TRIM(BOTH 'P' FROM s.name) "
        "FROM S3Object s LIMIT 20",
        "SELECT trim(note), ltrim(note), rtrim(note), trim(name, 'P') FROM {src} LIMIT 20",
    ),
    "cast_and_arithmetic": (
        "SELECT CAST(s.age AS INT) * 2 + 1, CAST(s.score AS FLOAT) / 2, CAST(s.age AS INTEGER) % 7, CAST('true' AS BOOL) "
        "FROM S3Object s LIMIT 20",
        "SELECT CAST(age AS BIGINT) * 2 + 1, CAST(score AS DOUBLE) / 2, CAST(age AS BIGINT) % 7, true FROM {src} LIMIT 20",
    ),
    "aggregates": (
        "SELECT COUNT(*), COUNT(s.note), SUM(CAST(s.age AS INT)), AVG(CAST(s.score AS FLOAT)), MIN(s.name), MAX(CAST(s.age AS INT)) "
        "FROM S3Object s WHERE s.city = 'Paris'",
        "SELECT count(*), count(coalesce(note, '')), sum(CAST(age AS BIGINT)), avg(CAST(score AS DOUBLE)), min(name), max(CAST(age AS BIGINT)) "
        "FROM {src} WHERE city = 'Paris'",
    ),
    "conditionals": (
        "SELECT CASE WHEN CAST(s.age AS INT) < 30 THEN 'young' WHEN CAST(s.age AS INT) < 50 THEN 'mid' ELSE 'old' END, "
        "CASE s.city WHEN 'Oslo' THEN 1 ELSE 0 END, NULLIF(s.city, 'Lyon'), COALESCE(NULLIF(s.note, ''), 'none') "
        "FROM S3Object s LIMIT 30",
        "SELECT CASE WHEN CAST(age AS BIGINT) < 30 THEN 'young' WHEN CAST(age AS BIGINT) < 50 THEN 'mid' ELSE 'old' END, "
        "CASE city WHEN 'Oslo' THEN 1 ELSE 0 END, nullif(city, 'Lyon'), coalesce(note, 'none') FROM {src} LIMIT 30",
    ),
    "like_escape": (
        "SELECT s.name FROM S3Object s WHERE s.note LIKE '%50!% off!_1%' ESCAPE '!' AND s.name NOT LIKE 'Person1%'",
        "SELECT name FROM {src} WHERE note LIKE '%50!% off!_1%' ESCAPE '!' AND name NOT LIKE 'Person1%'",
    ),
    "in_between_null": (
        "SELECT s.name FROM S3Object s WHERE s.city IN ('Oslo', 'Kyoto') AND CAST(s.age AS INT) BETWEEN 20 AND 40 "
        "AND s.note IS NOT NULL AND NOT (s.name = 'Person4')",
        "SELECT name FROM {src} WHERE city IN ('Oslo', 'Kyoto') AND CAST(age AS BIGINT) BETWEEN 20 AND 40 "
        "AND name <> 'Person4'",
    ),
    "dates": (
        "SELECT EXTRACT(YEAR FROM TO_TIMESTAMP(s.joined)), EXTRACT(MONTH FROM TO_TIMESTAMP(s.joined)), "
        "EXTRACT(HOUR FROM TO_TIMESTAMP(s.joined)), DATE_DIFF(day, TO_TIMESTAMP('2010-01-01T'), TO_TIMESTAMP(s.joined)), "
        "TO_STRING(DATE_ADD(month, 2, TO_TIMESTAMP(s.joined)), 'yyyy-MM-dd HH:mm') FROM S3Object s LIMIT 25",
        "SELECT year({ts}), month({ts}), hour({ts}), date_diff('day', TIMESTAMP '2010-01-01', {ts}), "
        "strftime({ts} + INTERVAL 2 MONTH, '%Y-%m-%d %H:%M') FROM {src} LIMIT 25",
    ),
}


@pytest.mark.parametrize("family", sorted(CASES))
def test_function_family_matches_duckdb(s3: Any, bucket: str, people_file: Path, family: str) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=people_file.read_bytes())
    expression, reference = CASES[family]
    got, _ = select(s3, bucket, "p.csv", expression, USE)
    want = duck(reference.format(src=src(people_file), ts=ts("joined")))
    assert want, "the reference query selects something"
    assert csv_rows(got) == want


def test_utcnow_is_now(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="one.csv", Body=b"a\n1\n")
    got, _ = select(s3, bucket, "one.csv", "SELECT EXTRACT(YEAR FROM UTCNOW()) FROM S3Object", USE)
    assert got.strip() in {
        str(datetime.datetime.now(datetime.UTC).year).encode(),
        str(datetime.datetime.now(datetime.UTC).year - 1).encode(),
    }


def test_timestamp_forms(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="t.csv",
        Body=b"t\n2007T\n2007-02T\n2007-02-23T\n2007-02-23T12:14Z\n2007-02-23T12:14:33.079-08:00\n",
    )
    got, _ = select(
        s3, bucket, "t.csv", "SELECT TO_STRING(TO_TIMESTAMP(s.t), 'yyyy-MM-dd''T''HH:mm:ss') FROM S3Object s", USE
    )
    assert got.decode().split() == [
        "2007-01-01T00:00:00", "2007-02-01T00:00:00", "2007-02-23T00:00:00", "2007-02-23T12:14:00", "2007-02-23T20:14:33",
    ]  # fmt: skip
