"""S3 Select: a query answered next to the data against downloading the object and filtering it locally.

python -m bench.select [--quick] [--size-mib N] [--workdir DIR] [--out FILE]

One s3d (local mode). A CSV of --size-mib MiB (1024 by default; --quick: 128) with a column that
selects 1% of the rows. Figures:
- the 1% query with SelectObjectContent (boto3): seconds and bytes sent to the client, against
  downloading the object with boto3 and running the same filter with DuckDB on the client;
- scan throughput of one query (DuckDB runs each query on one core): a full scan of the CSV, and of
  the same rows as Parquet (one column and all columns), in MiB of the object per second.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import boto3
import duckdb
from botocore.config import Config

from bench.clients import boto3_transfer
from bench.servers import S3d

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
BUCKET = "bench-select"
SELECTIVE = 100  # one row in SELECTIVE has category 0: the 1% query
TRANSFER_TIMEOUT = 1800.0
ROW_BYTES = 104  # about, for sizing the CSV
QUERY_1PCT = "SELECT s.id, s.name, s.amount FROM S3Object s WHERE s.category = '0'"
LOCAL_1PCT = "SELECT id, name, amount FROM read_csv('{path}', all_varchar=true, header=true) WHERE category = '0'"
CSV_SCAN = "SELECT COUNT(*) FROM S3Object s WHERE s.note = 'absent'"
PARQUET_ONE_COLUMN = "SELECT SUM(s.amount) FROM S3Object s"
PARQUET_ALL_COLUMNS = "SELECT COUNT(*) FROM S3Object s WHERE s.note = 'absent' OR s.name = 'absent' OR s.id < 0"


def make_data(workdir: Path, size_mib: int) -> tuple[Path, Path, int]:
    rows = size_mib * MiB // ROW_BYTES
    csv_path, parquet_path = workdir / f"data-{size_mib}M.csv", workdir / f"data-{size_mib}M.parquet"
    if not csv_path.exists():
        duckdb.sql(
            f"COPY (SELECT i AS id, 'name-' || i AS name, i % {SELECTIVE} AS category, round(i * 0.37, 2) AS amount, "
            f"md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS note FROM range({rows}) t(i)) "
            f"TO '{csv_path}' (HEADER, DELIMITER ',')"
        )
    if not parquet_path.exists():
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}', header=true)) TO '{parquet_path}' (FORMAT parquet)")
    return csv_path, parquet_path, rows


def _client(server: S3d) -> Any:
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, read_timeout=600)
    return boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1", config=cfg,
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
    )  # fmt: skip


def select(client: Any, key: str, expression: str, inp: dict[str, Any]) -> dict[str, float]:
    t0 = time.perf_counter()
    r = client.select_object_content(
        Bucket=BUCKET, Key=key, Expression=expression, ExpressionType="SQL",
        InputSerialization=inp, OutputSerialization={"CSV": {}},
    )  # fmt: skip
    returned = events = 0
    stats: dict[str, int] = {}
    for ev in r["Payload"]:
        events += 1
        if "Records" in ev:
            returned += len(ev["Records"]["Payload"])
        if "Stats" in ev:
            stats = ev["Stats"]["Details"]
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "records_bytes": returned,
        "events": events,
        "bytes_scanned": stats.get("BytesScanned", 0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.select", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 128 MiB CSV")
    ap.add_argument("--size-mib", type=int, help="size of the CSV (default 1024)")
    ap.add_argument("--workdir", default="/var/tmp", help="where the data dir and the test files go (a real disk)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "select.json"))
    a, _ = ap.parse_known_args(argv)
    size_mib = a.size_mib or (128 if a.quick else 1024)
    workdir = Path(a.workdir) / "s3d-bench-select"
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path, rows = make_data(workdir, size_mib)
    csv_size, parquet_size = csv_path.stat().st_size, parquet_path.stat().st_size
    server = S3d("s3d", workdir).start()
    results: dict[str, Any] = {"csv_bytes": csv_size, "parquet_bytes": parquet_size, "rows": rows}
    try:
        client = _client(server)
        client.create_bucket(Bucket=BUCKET)
        boto3_transfer(server, "up", BUCKET, "data.csv", csv_path, TRANSFER_TIMEOUT)
        boto3_transfer(server, "up", BUCKET, "data.parquet", parquet_path, TRANSFER_TIMEOUT)
        use = {"CSV": {"FileHeaderInfo": "USE"}}
        sel = select(client, "data.csv", QUERY_1PCT, use)
        down = workdir / "download.csv"
        t0 = time.perf_counter()
        boto3_transfer(server, "down", BUCKET, "data.csv", down, TRANSFER_TIMEOUT)
        local_rows = duckdb.sql(LOCAL_1PCT.format(path=down)).fetchall()
        download_and_filter = time.perf_counter() - t0
        down.unlink()
        results["one_percent"] = {
            "select": sel,
            "download_and_duckdb": {"seconds": download_and_filter, "bytes": csv_size, "rows": len(local_rows)},
        }
        scan = select(client, "data.csv", CSV_SCAN, use)
        one = select(client, "data.parquet", PARQUET_ONE_COLUMN, {"Parquet": {}})
        every = select(client, "data.parquet", PARQUET_ALL_COLUMNS, {"Parquet": {}})
        results["scan_mib_s_per_core"] = {
            "csv": csv_size / MiB / scan["seconds"],
            "parquet_one_column": parquet_size / MiB / one["seconds"],
            "parquet_all_columns": parquet_size / MiB / every["seconds"],
        }
        results["scan_rows_s_per_core"] = {
            "csv": rows / scan["seconds"],
            "parquet_one_column": rows / one["seconds"],
            "parquet_all_columns": rows / every["seconds"],
        }
        results["parquet_one_column_bytes_scanned"] = one["bytes_scanned"]
    finally:
        server.stop()
        server.cleanup()
    one_pct = results["one_percent"]
    print(f"S3 Select on s3d: {size_mib} MiB CSV ({rows} rows), {parquet_size / MiB:.0f} MiB as Parquet")
    print(f"{'1% of the rows':<34}{'seconds':>10}{'bytes to client':>18}")
    print(f"{'  SelectObjectContent':<34}{one_pct['select']['seconds']:>10.2f}{one_pct['select']['records_bytes']:>18}")
    dl = one_pct["download_and_duckdb"]
    print(f"{'  download + DuckDB on the client':<34}{dl['seconds']:>10.2f}{dl['bytes']:>18}")
    print("scan of one query (one core)     MiB/s     rows/s")
    for k, v in results["scan_mib_s_per_core"].items():
        print(f"  {k:<30}{v:>8.1f}{results['scan_rows_s_per_core'][k]:>11.0f}")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"size_mib": size_mib, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
