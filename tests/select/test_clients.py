"""Other ways in: the aws CLI, SSE-C encrypted objects, and gateway mode (remote objects via the block cache)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import duckdb
import pytest

from tests.gateway.conftest import own_gateway
from tests.select.conftest import csv_rows, duck, people_csv, select
from tests.support.clients import AwsCli
from tests.support.server import S3dProcess

USE = {"CSV": {"FileHeaderInfo": "USE"}}


def test_aws_cli_select_object_content(
    server: S3dProcess, s3: Any, bucket: str, tmp_path: Path, people_file: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=people_file.read_bytes())
    aws = AwsCli(server, tmp_path / "aws-home")
    out = tmp_path / "out.json"
    aws.run(
        "s3api", "select-object-content", "--bucket", bucket, "--key", "p.csv",
        "--expression", "SELECT s.name, s.age FROM S3Object s WHERE s.city = 'Oslo' LIMIT 10",
        "--expression-type", "SQL",
        "--input-serialization", json.dumps(USE),
        "--output-serialization", json.dumps({"JSON": {}}),
        str(out),
    )  # fmt: skip
    got = [json.loads(line) for line in out.read_text().splitlines()]
    want = duck(
        f"SELECT name, age FROM read_csv('{people_file}', all_varchar=true, header=true) WHERE city = 'Oslo' LIMIT 10"
    )
    assert [(r["name"], r["age"]) for r in got] == want


def sse_c(key: bytes) -> dict[str, str]:
    return {
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": base64.b64encode(key).decode(),
        "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def test_sse_c_object_is_queried_with_its_key(s3: Any, bucket: str) -> None:
    key = b"k" * 32
    body = people_csv()
    s3.put_object(Bucket=bucket, Key="secret.csv", Body=body, **sse_c(key))
    got, _ = select(
        s3, bucket, "secret.csv", "SELECT COUNT(*) FROM S3Object s WHERE s.city = 'Lyon'", USE, **sse_c(key)
    )
    assert got == b"%d\n" % sum(1 for line in body.splitlines()[1:] if b",Lyon," in line)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        select(s3, bucket, "secret.csv", "SELECT COUNT(*) FROM S3Object", USE)
    assert e.value.response["Error"]["Code"] == "InvalidRequest"


def test_gateway_reads_a_remote_parquet_object_through_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    duckdb.sql(
        "COPY (SELECT i AS id, i % 10 AS g, repeat('x', 50) AS pad FROM range(100000) t(i)) "
        f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 10000)"
    )
    with own_gateway(tmp_path / "gw") as gw:
        rc = gw.remote.client()
        rc.create_bucket(Bucket="lake")
        rc.put_object(Bucket="lake", Key="t.parquet", Body=path.read_bytes())
        s3 = gw.client()
        got, evs = select(s3, "lake", "t.parquet", "SELECT SUM(s.id) FROM S3Object s WHERE s.g = 7", {"Parquet": {}})
        assert csv_rows(got) == duck(f"SELECT sum(id) FROM read_parquet('{path}') WHERE g = 7")
        stats = next(e["Stats"]["Details"] for e in evs if "Stats" in e)
        assert stats["BytesScanned"] < path.stat().st_size  # the pad column is never read
