"""ScanRange: the records that start within the range, on CSV and JSON LINES objects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.select.conftest import csv_rows, json_rows, people_csv, people_json_lines, select


def starting_within(body: bytes, start: int, end: int, skip_first: bool = False) -> list[bytes]:
    """The oracle: lines whose first byte is at an offset in [start, end]."""
    out, offset = [], 0
    for i, line in enumerate(body.splitlines(keepends=True)):
        if start <= offset <= end and not (skip_first and i == 0):
            out.append(line)
        offset += len(line)
    return out


RANGES = [(0, 0), (0, 99), (1, 1), (57, 1234), (500, 5000), (4000, 4000), (10, 10**9)]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_csv_scan_range(s3: Any, bucket: str, start: int, end: int) -> None:
    body = people_csv(header=False)
    s3.put_object(Bucket=bucket, Key="p.csv", Body=body)
    got, _ = select(
        s3, bucket, "p.csv", "SELECT * FROM S3Object", {"CSV": {"FileHeaderInfo": "NONE"}},
        ScanRange={"Start": start, "End": end},
    )  # fmt: skip
    want = [tuple(line.decode().rstrip("\n").split(",")) for line in starting_within(body, start, end)]
    assert csv_rows(got) == want


def test_csv_scan_range_keeps_the_header_for_names(s3: Any, bucket: str) -> None:
    body = people_csv()
    s3.put_object(Bucket=bucket, Key="p.csv", Body=body)
    got, _ = select(
        s3, bucket, "p.csv", "SELECT s.name FROM S3Object s", {"CSV": {"FileHeaderInfo": "USE"}},
        ScanRange={"Start": 3000, "End": 3500},
    )  # fmt: skip
    want = [(line.decode().split(",")[0],) for line in starting_within(body, 3000, 3500, skip_first=True)]
    assert want and csv_rows(got) == want


def test_scan_range_with_only_an_end_reads_the_last_bytes(s3: Any, bucket: str) -> None:
    body = people_csv(header=False)
    s3.put_object(Bucket=bucket, Key="p.csv", Body=body)
    got, _ = select(s3, bucket, "p.csv", "SELECT _1 FROM S3Object", {"CSV": {}}, ScanRange={"End": 300})
    want = [(line.decode().split(",")[0],) for line in starting_within(body, len(body) - 300, len(body))]
    assert want and csv_rows(got) == want


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_json_lines_scan_range(s3: Any, bucket: str, start: int, end: int) -> None:
    body = people_json_lines()
    s3.put_object(Bucket=bucket, Key="p.json", Body=body)
    got, _ = select(
        s3, bucket, "p.json", "SELECT s.name FROM S3Object s", {"JSON": {"Type": "LINES"}}, {"JSON": {}},
        ScanRange={"Start": start, "End": end},
    )  # fmt: skip
    want = [{"name": json.loads(line)["name"]} for line in starting_within(body, start, end)]
    assert json_rows(got) == want
