"""boto3 upload_file / download_file with a TransferConfig; run as a subprocess by the harness.

Usage: python -m bench.boto3_transfer up|down ENDPOINT BUCKET KEY PATH (credentials from AWS_* variables).
Prints the seconds the transfer itself took (imports and client setup excluded).
"""

from __future__ import annotations

import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

MiB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB, max_concurrency=4)


def main() -> None:
    direction, endpoint, bucket, key, path = sys.argv[1:6]
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=10,
                 read_timeout=120, max_pool_connections=8)  # fmt: skip
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
    t0 = time.perf_counter()
    if direction == "up":
        client.upload_file(path, bucket, key, Config=TRANSFER)
    else:
        client.download_file(bucket, key, path, Config=TRANSFER)
    print(f"{time.perf_counter() - t0:.6f}")


if __name__ == "__main__":
    main()
