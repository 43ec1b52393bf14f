"""Measure PUT and GET throughput and latency to the daemon and, in gateway mode, to its remote.

Each target gets a scratch bucket (created, then emptied and removed). Requests are sequential on one
connection; each (target, size, operation) runs at most --count requests and stops early after
--time-limit seconds (always at least one request). Objects written to the daemon carry the tag
s3d.upload=false, so in gateway mode the test's data stays local.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from s3d.cli.connect import Daemon, add_arguments, make_client, translate
from s3d.cli.errors import CliError
from s3d.cli.output import human_size, print_json, table
from s3d.cli.progress import spinner
from s3d.cli.status import fetch_status

DEFAULT_SIZES = "4K,1M,64M"
UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
MAX_SIZE = 1024**3
HOLD = "s3d.upload=false"


@dataclass(slots=True)
class Result:
    target: str
    size: int
    op: str
    count: int
    seconds: float
    p50_ms: float
    max_ms: float

    @property
    def mib_per_s(self) -> float:
        return self.size * self.count / self.seconds / 1024**2 if self.seconds > 0 else 0.0


def size_list(text: str) -> list[int]:
    """argparse type: '4K,1M,64M' -> bytes (K, M, G are powers of 1024)."""
    out = []
    for part in text.split(","):
        v = part.strip().upper().removesuffix("IB").removesuffix("B")
        unit = v[-1:] if v[-1:] in UNITS and not v[-1:].isdigit() else ""
        try:
            n = int(float(v[: len(v) - len(unit)]) * UNITS[unit])
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a size: {part!r} (use e.g. 4K, 1M, 64M)") from None
        if not 0 < n <= MAX_SIZE:
            raise argparse.ArgumentTypeError(f"sizes go from 1 byte to 1G, got {part!r}")
        out.append(n)
    return out


def positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return v

    return parse


def register(sub: Any) -> None:
    p = sub.add_parser("speedtest", help="PUT/GET throughput and latency to the daemon (and its remote)",
                       description=__doc__)  # fmt: skip
    p.add_argument("--sizes", type=size_list, default=size_list(DEFAULT_SIZES), metavar="LIST",
                   help=f"object sizes, comma-separated (default {DEFAULT_SIZES})")  # fmt: skip
    p.add_argument("--count", type=positive(int), metavar="N",
                   help="requests per size and operation (default 50 for small objects, 10 from 1M, 3 from 16M)")  # fmt: skip
    p.add_argument("--time-limit", type=positive(float), default=10.0, metavar="SECONDS",
                   help="stop a size's PUTs (or GETs) after this long (default 10)")  # fmt: skip
    p.add_argument("--no-remote", action="store_true", help="in gateway mode, test the daemon only")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    add_arguments(p)
    p.set_defaults(func=speedtest_command, client=True)


def default_count(size: int) -> int:
    return 3 if size >= 16 * 1024**2 else 10 if size >= 1024**2 else 50


def speedtest_command(args: argparse.Namespace, daemon: Daemon) -> int:
    status = fetch_status(daemon)
    ak, sk = daemon.credentials()
    targets: list[tuple[str, str, str | None, str | None]] = [("daemon", daemon.endpoint, ak, sk)]
    if status.get("mode") == "gateway" and status.get("remote") and not args.no_remote:
        targets.append(("remote", str(status["remote"]), None, None))  # the standard AWS credential chain
    results: list[Result] = []
    failures: list[str] = []
    for name, endpoint, key, secret in targets:
        own = name == "daemon"
        client = make_client(endpoint, key, secret, region=daemon.region if own else None,
                             verify=daemon.ca if own else None, request_checksum_calculation="when_required",
                             response_checksum_validation="when_required")  # fmt: skip
        try:
            results += run_target(
                client, name, args.sizes, args.count, args.time_limit, tag=HOLD if name == "daemon" else None
            )
        except Exception as e:
            err = translate(e, endpoint, daemon=name == "daemon")
            if err is None:
                raise
            if name == "daemon":
                raise err from None
            failures.append(f"{name} {endpoint}: {err}")
    if args.json:
        print_json([{**asdict(r), "seconds": round(r.seconds, 6), "p50_ms": round(r.p50_ms, 3), "max_ms": round(r.max_ms, 3),
                     "mib_per_s": round(r.mib_per_s, 3)} for r in results])  # fmt: skip
    else:
        rows = [(r.target, human_size(r.size), r.op, r.count, f"{r.mib_per_s:.1f}", f"{r.p50_ms:.1f}", f"{r.max_ms:.1f}")
                for r in results]  # fmt: skip
        print(table(("TARGET", "SIZE", "OP", "N", "MiB/s", "P50 ms", "MAX ms"), rows, right=(1, 3, 4, 5, 6)))
    if failures:
        raise CliError("; ".join(failures))
    return 0


def run_target(
    s3: Any, target: str, sizes: list[int], count: int | None, limit: float, tag: str | None
) -> list[Result]:
    bucket = f"s3d-speedtest-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    try:
        out = []
        with spinner(f"speedtest {target}") as say:
            for size in sizes:
                payload = os.urandom(size)
                n = count or default_count(size)
                written: list[str] = []

                def put(i: int, size: int = size, payload: bytes = payload, written: list[str] = written) -> None:
                    key = f"{size}/{i}"
                    extra = {"Tagging": tag} if tag else {}
                    s3.put_object(Bucket=bucket, Key=key, Body=payload, **extra)
                    written.append(key)

                def get(i: int, size: int = size, written: list[str] = written) -> None:
                    body = s3.get_object(Bucket=bucket, Key=written[i % len(written)])["Body"].read()
                    if len(body) != size:
                        raise CliError(f"GET returned {len(body)} bytes instead of {size}")

                for op, fn in (("PUT", put), ("GET", get)):
                    say(f"speedtest {target}: {op} {human_size(size)} x{n}")
                    out.append(measure(target, size, op, fn, n, limit))
        return out
    finally:
        cleanup(s3, bucket)


def measure(target: str, size: int, op: str, fn: Callable[[int], None], count: int, limit: float) -> Result:
    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        fn(i)
        latencies.append(time.perf_counter() - t)
        if time.perf_counter() - start >= limit:
            break
    total = sum(latencies)
    return Result(target, size, op, len(latencies), total, statistics.median(latencies) * 1000, max(latencies) * 1000)


def cleanup(s3: Any, bucket: str) -> None:
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if found:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": found, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
    except Exception as e:  # the measurement (or its error) matters more; say what was left behind
        print(f"s3d: could not remove the scratch bucket {bucket}: {e}", file=sys.stderr)
