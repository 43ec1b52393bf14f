"""pandas and pyarrow reading and writing Parquet/CSV on a real s3d through fsspec (s3fs) storage_options."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pandas.testing import assert_frame_equal

from tests.support.clients import s3fs_filesystem, storage_options
from tests.support.server import S3dProcess


def frame(n: int = 500, offset: int = 0) -> pd.DataFrame:
    ids = list(range(offset, offset + n))
    return pd.DataFrame(
        {
            "id": pd.array(ids, dtype="int64"),
            "name": [f"row {i} \u00fc" for i in ids],
            "value": [i / 4 for i in ids],
            "flag": [i % 2 == 0 for i in ids],
        }
    )


def test_pandas_parquet_round_trip(server: S3dProcess, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    df = frame()
    url = f"s3://{bucket}/pd/frame.parquet"
    df.to_parquet(url, storage_options=storage_options(server), index=False)
    back = pd.read_parquet(url, storage_options=storage_options(server))
    assert_frame_equal(back, df, check_dtype=False)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["pd/frame.parquet"]
    # the stored bytes are a Parquet file another client can read
    body = s3.get_object(Bucket=bucket, Key="pd/frame.parquet")["Body"].read()
    assert_frame_equal(pq.read_table(io.BytesIO(body)).to_pandas(), df, check_dtype=False)


def test_pandas_csv_round_trip(server: S3dProcess, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    df = frame(200)
    url = f"s3://{bucket}/pd/frame.csv"
    df.to_csv(url, storage_options=storage_options(server), index=False)
    body = s3.get_object(Bucket=bucket, Key="pd/frame.csv")["Body"].read()
    assert body == df.to_csv(index=False).encode()
    back = pd.read_csv(url, storage_options=storage_options(server))
    assert_frame_equal(back, df, check_dtype=False)


def test_pyarrow_dataset_over_a_prefix(server: S3dProcess, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """Parquet files written by boto3, read by pyarrow through an s3fs filesystem (listing plus ranged reads)."""
    parts = [frame(300, offset=300 * p) for p in range(3)]
    for p, df in enumerate(parts):
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, row_group_size=100)
        s3.put_object(Bucket=bucket, Key=f"ds/part-{p}.parquet", Body=buf.getvalue())
    fs = s3fs_filesystem(server)

    one = pq.read_table(f"{bucket}/ds/part-1.parquet", filesystem=fs, columns=["id", "value"])
    assert one.column("id").to_pylist() == list(range(300, 600))
    assert one.column("value").to_pylist() == [i / 4 for i in range(300, 600)]

    dataset = ds.dataset(f"{bucket}/ds", filesystem=fs, format="parquet")
    assert sorted(f.rsplit("/", 1)[1] for f in dataset.files) == [f"part-{p}.parquet" for p in range(3)]
    table = dataset.to_table(filter=ds.field("flag") == True)  # noqa: E712 - a pyarrow expression
    assert sorted(table.column("id").to_pylist()) == [i for i in range(900) if i % 2 == 0]
    whole = pd.concat(parts, ignore_index=True)
    assert_frame_equal(dataset.to_table().to_pandas().sort_values("id", ignore_index=True), whole, check_dtype=False)
