"""Filter benchmark (issue 16): decisions per second of a 100-rule filter, and PUT ops/s with and without one.

1. A 100-rule filter (literal and wildcard buckets, '*' and '**' patterns, tag, bucket-tag, metadata,
   size and age conditions) decides over N (key, tags, metadata) tuples on one core (default 1,000,000;
   target >= 200,000 decisions/s).
2. s3d in gateway mode in front of `rclone serve s3`: PUT ops/s of 4 KiB objects with no filter and
   with a 100-rule --upload-filter, alternated in one run (the filter runs in the shipper, off the PUT path).

python -m bench.filters [--quick] [--tuples N] [--puts N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from s3d.filters import Filter, Subject

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "filters.json"
TARGET = 200_000  # decisions per second, from the issue
RULES = 100
BUCKETS = [f"team{i:02d}" for i in range(20)]
PUT_BODY = b"x" * 4096
PUT_THREADS = 8


def hundred_rules() -> str:
    """20 buckets x 4 rules, then 20 rules over every bucket: the shapes docs/filters.md shows."""
    lines = []
    for b in BUCKETS:
        lines += [
            f"- {b}/tmp/**",
            f"+ {b}/photos/raw/*.jpg[tag:review!=pending][hdr:content-length<100MiB]",
            f"- {b}/**.log[size>10MiB]",
            f"+ {b}/reports/*[md:project=apollo][hdr:content-type='application/pdf']",
        ]
    for i in range(RULES - len(lines) - 1):
        lines.append(f"- *[btag:tier=cold{i}]" if i % 2 else f"+ *[md:owner=user{i}]/shared/**[age>7d]")
    lines.append("- */**.tmp")
    assert len(lines) == RULES
    return "\n".join(lines)


def tuples(n: int, seed: int = 16) -> list[Subject]:
    rnd = random.Random(seed)
    shapes = ["tmp/{i}/x.bin", "photos/raw/img{i}.jpg", "logs/app{i}.log", "reports/r{i}.pdf", "shared/doc{i}.txt",
              "data/2026/part-{i}.parquet", "scratch/{i}.tmp"]  # fmt: skip
    now = time.time()
    tag_sets = [{}, {"review": "pending"}, {"review": "ok", "owner": "ann"}]
    metas = [{}, {"content-type": "application/pdf", "x-amz-meta-project": "apollo"}, {"x-amz-meta-owner": "user4"}]
    btags = {b: ({"tier": f"cold{i}"} if i % 3 == 0 else {}) for i, b in enumerate(BUCKETS + ["other"])}
    out = []
    for i in range(n):
        bucket = rnd.choice(BUCKETS) if i % 10 else "other"
        out.append(Subject(bucket, rnd.choice(shapes).format(i=i % 5000), size=rnd.choice((100, 5 << 20, 50 << 20)),
                           mtime=now - rnd.choice((60, 30 * 86400)), tags=rnd.choice(tag_sets),
                           bucket_tags=btags[bucket], meta=rnd.choice(metas)))  # fmt: skip
    return out


def decisions(n: int) -> dict[str, float]:
    f = Filter.parse(hundred_rules())
    subjects = tuples(n)
    now = time.time()
    decide = f.decide
    t0 = time.process_time()
    included = sum(decide(s, now).include for s in subjects)
    cpu = time.process_time() - t0
    return {"rules": float(len(f)), "tuples": float(n), "cpu_s": cpu, "per_s": n / cpu, "included": float(included)}


def put_rate(url: str, bucket: str, count: int, seconds: float) -> float:
    from bench.gateway import client
    from bench.servers import ACCESS_KEY, SECRET_KEY

    c = client(url, ACCESS_KEY, SECRET_KEY)
    deadline = time.monotonic() + seconds
    done = [0] * PUT_THREADS

    def worker(t: int) -> None:
        for i in range(t, count, PUT_THREADS):
            if time.monotonic() >= deadline:
                return
            c.put_object(Bucket=bucket, Key=f"team01/photos/raw/img{i}.jpg", Body=PUT_BODY)
            done[t] += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(PUT_THREADS) as pool:
        list(pool.map(worker, range(PUT_THREADS)))
    return sum(done) / (time.perf_counter() - t0)


def puts(count: int, seconds: float, rounds: int) -> dict[str, float]:
    from bench.gateway import client, rclone_remote, start_s3d
    from bench.servers import ACCESS_KEY, SECRET_KEY

    work = Path(tempfile.mkdtemp(prefix="s3d-filterbench-", dir="/var/tmp"))
    rules = work / "upload.filter"
    rules.write_text(hundred_rules())
    best: dict[str, float] = {"no_filter": 0.0, "filter": 0.0}
    try:
        with rclone_remote(work) as remote:
            for r in range(rounds):
                for name, args in (("no_filter", ()), ("filter", ("--upload-filter", f"@{rules}"))):
                    s3d = start_s3d(work, remote, *args)
                    try:
                        url = s3d.url.rsplit("/_s3d", 1)[0]
                        bucket = f"put-{name.replace('_', '-')}-{r}"
                        client(url, ACCESS_KEY, SECRET_KEY).create_bucket(Bucket=bucket)
                        best[name] = max(best[name], put_rate(url, bucket, count, seconds))
                    finally:
                        s3d.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.filters", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 tuples, 1,000 PUTs per round, 1 round")
    ap.add_argument("--tuples", type=int)
    ap.add_argument("--puts", type=int, help="PUTs per round and setting (bounded by --put-seconds too)")
    ap.add_argument("--put-seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int)
    a = ap.parse_args(argv)
    n = a.tuples or (100_000 if a.quick else 1_000_000)
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": a.quick}
    res["decisions"] = d = decisions(n)
    verdict = "meets" if d["per_s"] >= TARGET else "MISSES"
    print(f"[filters] {RULES} rules over {n:,} tuples: {d['per_s']:,.0f} decisions/s on one core "
          f"({d['cpu_s']:.2f} s CPU; {verdict} the {TARGET:,}/s target)", flush=True)  # fmt: skip
    res["puts"] = p = puts(a.puts or (1000 if a.quick else 5000), a.put_seconds, a.rounds or (1 if a.quick else 2))
    print(f"[filters] gateway PUT 4 KiB: {p['no_filter']:.0f} ops/s without a filter, "
          f"{p['filter']:.0f} ops/s with a {RULES}-rule upload filter", flush=True)  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
