"""DuckDB's httpfs extension (loaded from the duckdb-ext-httpfs wheel) writing and reading s3:// on a real s3d."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support.clients import duckdb_connect
from tests.support.server import S3dProcess

ROWS_SQL = """
    SELECT i AS id,
           'name ' || i || CASE WHEN i % 7 = 0 THEN ' \u00fc\u540d' ELSE '' END AS name,
           CASE WHEN i % 5 = 0 THEN NULL ELSE i * 1.5 END AS score,
           i % 3 AS grp
    FROM range(1000) t(i)
"""


@pytest.fixture
def duck(server: S3dProcess, tmp_path: Path):  # type: ignore[no-untyped-def]
    con = duckdb_connect(server, tmp_path / "duckdb-home")
    yield con
    con.close()


def expected_rows(duck) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    return duck.execute(f"SELECT * FROM ({ROWS_SQL}) ORDER BY id").fetchall()


def keys(s3, bucket: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=bucket)
    return {o["Key"]: o["Size"] for o in r.get("Contents", [])}


def test_copy_to_parquet_and_read_back(duck, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    url = f"s3://{bucket}/out/table.parquet"
    duck.execute(f"COPY ({ROWS_SQL}) TO '{url}' (FORMAT parquet)")
    want = expected_rows(duck)
    assert duck.execute(f"SELECT * FROM read_parquet('{url}') ORDER BY id").fetchall() == want
    # projections and filters read only some byte ranges of the file
    assert duck.execute(f"SELECT sum(id), count(score) FROM read_parquet('{url}') WHERE grp = 1").fetchone() == (
        sum(r[0] for r in want if r[3] == 1),
        sum(1 for r in want if r[3] == 1 and r[2] is not None),
    )
    # the object is a real Parquet file, as another client downloads it
    assert list(keys(s3, bucket)) == ["out/table.parquet"]
    body = s3.get_object(Bucket=bucket, Key="out/table.parquet")["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert sorted(zip(*(table.column(c).to_pylist() for c in ["id", "name", "score", "grp"]), strict=True)) == want


def test_copy_to_csv_and_read_back(duck, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    url = f"s3://{bucket}/out/table.csv"
    duck.execute(f"COPY ({ROWS_SQL} ORDER BY id) TO '{url}' (FORMAT csv, HEADER true)")
    want = expected_rows(duck)
    got = duck.execute(
        f"SELECT * FROM read_csv('{url}', header = true, "
        "columns = {'id': 'BIGINT', 'name': 'VARCHAR', 'score': 'DOUBLE', 'grp': 'BIGINT'}) ORDER BY id"
    ).fetchall()
    assert got == want
    text = s3.get_object(Bucket=bucket, Key="out/table.csv")["Body"].read().decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "name", "score", "grp"]
    assert [(int(r[0]), r[1]) for r in rows[1:]] == [(r[0], r[1]) for r in want]


def test_glob_read_over_a_directory(duck, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    for part in range(3):
        duck.execute(
            f"COPY (SELECT * FROM ({ROWS_SQL}) WHERE grp = {part}) TO 's3://{bucket}/dir/part-{part}.parquet' (FORMAT parquet)"
        )
    # objects the glob must not pick up: another extension, a deeper level, a sibling prefix
    s3.put_object(Bucket=bucket, Key="dir/readme.txt", Body=b"not parquet")
    duck.execute(f"COPY (SELECT 1 AS id) TO 's3://{bucket}/dir/nested/x.parquet' (FORMAT parquet)")
    duck.execute(f"COPY (SELECT 1 AS id) TO 's3://{bucket}/dir2/y.parquet' (FORMAT parquet)")

    files = [
        r[0] for r in duck.execute(f"SELECT file FROM glob('s3://{bucket}/dir/*.parquet') ORDER BY file").fetchall()
    ]
    assert files == [f"s3://{bucket}/dir/part-{p}.parquet" for p in range(3)]
    want = expected_rows(duck)
    got = duck.execute(f"SELECT * FROM read_parquet('s3://{bucket}/dir/*.parquet') ORDER BY id").fetchall()
    assert got == want
    per_file = duck.execute(
        f"SELECT filename, count(*) FROM read_parquet('s3://{bucket}/dir/*.parquet', filename = true) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert per_file == [(f"s3://{bucket}/dir/part-{p}.parquet", sum(1 for r in want if r[3] == p)) for p in range(3)]
    # ** crosses levels
    deep = duck.execute(f"SELECT count(*) FROM read_parquet('s3://{bucket}/dir/**/*.parquet')").fetchone()
    assert deep == (len(want) + 1,)


def test_hive_partitioned_write_and_read(duck, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    duck.execute(f"COPY ({ROWS_SQL}) TO 's3://{bucket}/hive' (FORMAT parquet, PARTITION_BY (grp))")
    listed = keys(s3, bucket)
    assert sorted({k.rsplit("/", 1)[0] for k in listed}) == [f"hive/grp={g}" for g in range(3)]
    got = duck.execute(
        f"SELECT id, name, score, grp FROM read_parquet('s3://{bucket}/hive/*/*.parquet', hive_partitioning = true) ORDER BY id"
    ).fetchall()
    assert got == expected_rows(duck)


def test_large_write_goes_multipart(duck, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """With 5 MiB upload parts (10 GB / 2000), a ~14 MB CSV is a 3-part multipart upload."""
    duck.execute("SET s3_uploader_max_filesize = '10GB'")
    duck.execute("SET s3_uploader_max_parts_per_file = 2000")
    sql = "SELECT i, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS s FROM range(200000) t(i)"
    url = f"s3://{bucket}/big/rows.csv"
    duck.execute(f"COPY ({sql}) TO '{url}' (FORMAT csv, HEADER true)")
    head = s3.head_object(Bucket=bucket, Key="big/rows.csv")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
    local = duck.execute(f"SELECT count(*), sum(i), min(s), max(s) FROM ({sql})").fetchone()
    remote = duck.execute(f"SELECT count(*), sum(i), min(s), max(s) FROM read_csv('{url}', header = true)").fetchone()
    assert remote == local
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
