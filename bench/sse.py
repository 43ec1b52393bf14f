"""Encryption at rest: SSE-S3 next to plaintext on one s3d, in one run.

python -m bench.sse [--quick] [--large-mib N] [--count N] [--time-limit S] [--workdir DIR] [--out FILE]

Two buckets on the same daemon, one with default encryption SSE-S3 and one without, so every client
call is the same for both: PUT and GET of 4 KiB objects (sequential, one boto3 client), then a large
file uploaded and downloaded with boto3's transfer manager (16 MiB parts, 4 at a time), best of
--rounds; each round uploads both kinds, then downloads both, with a sync after each transfer (outside
its timing) so no transfer pays for another's writeback. Prints a table with the SSE-S3/plaintext ratio
of each figure and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.clients import boto3_transfer, make_source, sha256_file
from bench.servers import S3d

ROOT = Path(__file__).resolve().parent.parent
KiB, MiB = 1024, 1024 * 1024
SMALL = 4 * KiB
BUCKETS = {"plain": "bench-plain", "sse-s3": "bench-sse-s3"}
TRANSFER_TIMEOUT = 900.0
WARM_UP = 50


def _client(server: S3d) -> Any:
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, max_pool_connections=4)
    return boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1", config=cfg,
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
    )  # fmt: skip


def _small(client: Any, count: int, time_limit: float) -> dict[str, dict[str, float]]:
    """PUTs then GETs of 4 KiB, alternating between the kinds request by request (so the machine's noise,
    fsync stalls above all, falls on both alike): requests per second and median latency (ms) per kind."""
    body = bytes(range(256)) * (SMALL // 256)
    out: dict[str, dict[str, float]] = {kind: {} for kind in BUCKETS}
    for op in ("put", "get"):
        lat: dict[str, list[float]] = {kind: [] for kind in BUCKETS}
        deadline = time.monotonic() + time_limit
        for i in range(count):
            for kind, bucket in BUCKETS.items():
                t0 = time.perf_counter()
                if op == "put":
                    client.put_object(Bucket=bucket, Key=f"small/{i}", Body=body)
                else:
                    got = client.get_object(Bucket=bucket, Key=f"small/{i}")["Body"].read()
                    assert got == body
                lat[kind].append(time.perf_counter() - t0)
            if time.monotonic() > deadline:
                break
        for kind, values in lat.items():
            out[kind][f"{op}_4k_per_s"] = len(values) / sum(values)
            out[kind][f"{op}_4k_median_ms"] = statistics.median(values) * 1000
        if op == "put":
            count = len(lat["plain"])  # GET exactly what was put
    return out


def _upload(server: S3d, bucket: str, src: Path) -> float:
    up = boto3_transfer(server, "up", bucket, "large", src, TRANSFER_TIMEOUT)
    os.sync()  # the upload's dirty pages are written back outside the timings that follow
    return src.stat().st_size / MiB / up


def _download(server: S3d, bucket: str, size: int, digest: str, workdir: Path) -> float:
    dst = workdir / f"down-{bucket}"
    down = boto3_transfer(server, "down", bucket, "large", dst, TRANSFER_TIMEOUT)
    if sha256_file(dst) != digest:
        raise RuntimeError(f"{bucket}: the downloaded file differs from the upload")
    dst.unlink()
    os.sync()
    return size / MiB / down


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sse", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="256 MiB transfer, 300 small requests")
    ap.add_argument("--large-mib", type=int, help="size of the large transfer (default 1024)")
    ap.add_argument("--count", type=int, help="small requests per operation (default 2000)")
    ap.add_argument("--time-limit", type=float, default=40.0, help="seconds per small operation at most")
    ap.add_argument("--rounds", type=int, default=3, help="large transfer rounds per kind (the best counts)")
    ap.add_argument("--workdir", default="/var/tmp", help="where the data dir and the test file go (a real disk)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sse.json"))
    a, _ = ap.parse_known_args(argv)
    large_mib = a.large_mib or (256 if a.quick else 1024)
    count = a.count or (300 if a.quick else 2000)
    workdir = Path(a.workdir) / "s3d-bench-sse"
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"source-{large_mib}M.bin"
    digest = make_source(src, large_mib * MiB)
    server = S3d("s3d", workdir).start()
    results: dict[str, dict[str, float]] = {}
    try:
        client = _client(server)
        for kind, bucket in BUCKETS.items():
            client.create_bucket(Bucket=bucket)
            if kind == "sse-s3":
                rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
        _small(client, WARM_UP, a.time_limit)  # connections, caches, first-use imports
        results = _small(client, count, a.time_limit)
        # large transfers: rounds alternate the kinds' order; the best round of each kind counts
        for r in range(a.rounds):
            order = list(BUCKETS.items()) if r % 2 == 0 else list(BUCKETS.items())[::-1]
            for kind, bucket in order:  # both uploads, then both downloads: no download meets an upload's writeback
                results[kind]["upload_mib_s"] = max(
                    _upload(server, bucket, src), results[kind].get("upload_mib_s", 0.0)
                )
            for kind, bucket in order:
                v = _download(server, bucket, src.stat().st_size, digest, workdir)
                results[kind]["download_mib_s"] = max(v, results[kind].get("download_mib_s", 0.0))
        head = client.head_object(Bucket=BUCKETS["sse-s3"], Key="large")
        assert head.get("ServerSideEncryption") == "AES256", "the SSE bucket's objects are not encrypted"
    finally:
        server.stop()
        server.cleanup()
    ratios = {k: results["sse-s3"][k] / results["plain"][k] for k in results["plain"] if not k.endswith("_ms")}
    print(f"s3d SSE-S3 vs plaintext ({count} small requests at most, {large_mib} MiB transfer)")
    print(f"{'figure':<22}{'plaintext':>12}{'SSE-S3':>12}{'ratio':>8}")
    for k in results["plain"]:
        ratio = f"{ratios[k]:.2f}x" if k in ratios else ""
        print(f"{k:<22}{results['plain'][k]:>12.1f}{results['sse-s3'][k]:>12.1f}{ratio:>8}")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"large_mib": large_mib, "count": count, "results": results, "ratios": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
