"""Sync directory benchmark (issue 17), s3d in local mode on this machine.

1. Initial sync of a tree of N files of 1-64 KiB (default 10,000), moved into an empty synced folder,
   until every file is an object; against `rclone sync` of the same tree into another bucket of the
   same s3d. Then the same for one large file (default 1 GiB).
2. Propagation latency, p50/p95 of 200 single-file changes each way: a file written in the folder
   until its object can be read over S3, and an object PUT over S3 until the file is there.
3. Idle CPU of the daemon (every process) over 60 s with the synced tree in place.

python -m bench.sync [--quick] [--files N] [--big-mib N] [--changes N] [--idle-seconds N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.gateway import Proc, client
from bench.procs import proc_cpu, tree
from bench.servers import ACCESS_KEY, SECRET_KEY, free_port, tool

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "sync.json"
KiB, MiB = 1024, 1024 * 1024
POLL = 0.005  # seconds between looks while timing a propagation
BOUND = 1800.0  # no single phase may take longer than this (seconds)
SYNC_BUCKET, RCLONE_BUCKET = "synced", "rcloned"


def make_tree(root: Path, count: int, seed: int = 17) -> int:
    rnd = random.Random(seed)
    block = os.urandom(64 * KiB)
    total = 0
    for i in range(count):
        d = root / f"d{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        size = rnd.randint(1 * KiB, 64 * KiB)
        (d / f"f{i:05d}.bin").write_bytes(i.to_bytes(8, "big") + block[: size - 8])
        total += size
    return total


def make_big(root: Path, size: int) -> None:
    root.mkdir(parents=True)
    block = os.urandom(8 * MiB)
    with open(root / "big.bin", "wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def start_s3d(work: Path, folder: Path) -> Proc:
    port = free_port()
    env = {"S3D_ACCESS_KEY": ACCESS_KEY, "S3D_SECRET_KEY": SECRET_KEY, "S3D_LOG_LEVEL": "warning"}
    cmd = [sys.executable, "-m", "s3d", "run", "--data", str(work / "data"), "--listen", f"127.0.0.1:{port}",
           "--sync", f"{folder}={SYNC_BUCKET}"]  # fmt: skip
    return Proc(cmd, env, work / "s3d.log", f"http://127.0.0.1:{port}/_s3d/health")


def count_objects(c: Any, bucket: str) -> tuple[int, int]:
    n = size = 0
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            if not o["Key"].endswith("/"):
                n += 1
                size += o["Size"]
    return n, size


def wait_for(check: Any, what: str, poll: float = 0.2) -> float:
    t0 = time.perf_counter()
    while not check():
        if time.perf_counter() - t0 > BOUND:
            raise TimeoutError(what)
        time.sleep(poll)
    return time.perf_counter() - t0


def sync_in(c: Any, folder: Path, source: Path, files: int, size: int) -> float:
    """Seconds from moving ``source`` into the synced folder until the bucket holds all of it."""
    t0 = time.perf_counter()
    os.rename(source, folder / source.name)
    wait_for(lambda: count_objects(c, SYNC_BUCKET) >= (files, size), "the sync", poll=0.5 if files > 100 else 0.05)
    return time.perf_counter() - t0


def rclone_in(url: str, source: Path, dest: str) -> float:
    env = {**os.environ, "RCLONE_CONFIG_S3D_TYPE": "s3", "RCLONE_CONFIG_S3D_PROVIDER": "Other",
           "RCLONE_CONFIG_S3D_ENDPOINT": url, "RCLONE_CONFIG_S3D_ACCESS_KEY_ID": ACCESS_KEY,
           "RCLONE_CONFIG_S3D_SECRET_ACCESS_KEY": SECRET_KEY, "RCLONE_CONFIG_S3D_REGION": "us-east-1"}  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run([tool("rclone"), "sync", "--config", "/dev/null", str(source), f"s3d:{dest}"], env=env, check=True,
                   timeout=BOUND)  # fmt: skip
    return time.perf_counter() - t0


def latencies(c: Any, folder: Path, changes: int) -> dict[str, float]:
    up, down = [], []
    for i in range(changes):
        data = f"change {i} going up\n".encode()
        t0 = time.perf_counter()
        (folder / "lat" / f"up{i}.txt").write_bytes(data)
        while True:
            try:
                if c.get_object(Bucket=SYNC_BUCKET, Key=f"lat/up{i}.txt")["Body"].read() == data:
                    break
            except c.exceptions.NoSuchKey:
                pass
            if time.perf_counter() - t0 > BOUND:
                raise TimeoutError("an upload")
            time.sleep(POLL)
        up.append(time.perf_counter() - t0)
    for i in range(changes):
        data = f"change {i} coming down\n".encode()
        path = folder / "lat" / f"down{i}.txt"
        t0 = time.perf_counter()
        c.put_object(Bucket=SYNC_BUCKET, Key=f"lat/down{i}.txt", Body=data)
        wait_for(lambda path=path, data=data: path.exists() and path.read_bytes() == data, "a download", poll=POLL)
        down.append(time.perf_counter() - t0)

    def q(xs: list[float], p: float) -> float:
        return statistics.quantiles(xs, n=100)[p - 1] if len(xs) > 1 else xs[0]

    return {"up_p50_s": q(up, 50), "up_p95_s": q(up, 95), "down_p50_s": q(down, 50), "down_p95_s": q(down, 95)}


def idle_cpu(pid: int, seconds: float) -> float:
    """CPU of the daemon's processes over ``seconds``, as a percentage of one core."""
    pids = tree(pid)
    before = sum(proc_cpu(p) for p in pids)
    time.sleep(seconds)
    return 100 * (sum(proc_cpu(p) for p in pids) - before) / seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 files, 128 MiB, 50 changes, 20 s idle")
    ap.add_argument("--files", type=int)
    ap.add_argument("--big-mib", type=int)
    ap.add_argument("--changes", type=int)
    ap.add_argument("--idle-seconds", type=float)
    ap.add_argument("--no-rclone", action="store_true", help="skip the rclone comparisons")
    a = ap.parse_args(argv)
    files = a.files or (2_000 if a.quick else 10_000)
    big = (a.big_mib or (128 if a.quick else 1024)) * MiB
    changes = a.changes or (50 if a.quick else 200)
    idle = a.idle_seconds or (20.0 if a.quick else 60.0)
    work = Path(tempfile.mkdtemp(prefix="s3d-syncbench-", dir="/var/tmp"))
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": a.quick,
                           "files": files, "big_bytes": big, "changes": changes}  # fmt: skip
    try:
        folder = work / "folder"
        folder.mkdir()
        (folder / "lat").mkdir()
        tree_bytes = make_tree(work / "tree", files)
        make_big(work / "bigtree", big)
        s3d = start_s3d(work, folder)
        try:
            url = s3d.url.rsplit("/_s3d", 1)[0]
            c = client(url, ACCESS_KEY, SECRET_KEY)
            wait_for(lambda: SYNC_BUCKET in [b["Name"] for b in c.list_buckets()["Buckets"]], "the bucket")
            c.create_bucket(Bucket=RCLONE_BUCKET)
            res["tree_bytes"] = tree_bytes
            if not a.no_rclone:
                res["rclone_tree_s"] = rclone_in(url, work / "tree", f"{RCLONE_BUCKET}/tree")
            res["sync_tree_s"] = sync_in(c, folder, work / "tree", files, tree_bytes)
            if not a.no_rclone:
                res["rclone_big_s"] = rclone_in(url, work / "bigtree", f"{RCLONE_BUCKET}/bigtree")
            res["sync_big_s"] = sync_in(c, folder, work / "bigtree", files + 1, tree_bytes + big)
            res.update(latencies(c, folder, changes))
            time.sleep(2.0)  # the last runs settle
            res["idle_cpu_percent"] = idle_cpu(s3d.proc.pid, idle)
            res["idle_seconds"] = idle
        finally:
            s3d.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(res, indent=1))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
