"""Gateway and cache benchmarks (issues 4 and 5), in one run, on loopback only.

1. Shipping: 1,000 x 64 KiB and 4 x 256 MiB written to s3d in gateway mode by the aws CLI
   (`aws s3 cp --recursive`), timed from the first write until the remote holds everything
   (POST /_s3d/flush), against the same aws CLI command uploading the same files straight to the
   same kind of remote. Two remotes: `rclone serve s3`, and Ceph's
   radosgw on a one-node Ceph cluster (memstore OSD; tests/support/ceph.py) when Ceph is installed.
2. Cache-hit GET of a 4 KiB remote object against a local GET of a 4 KiB object, same daemon, wrk: requests
   per second, and the daemon's CPU time per request (steadier than rates on a shared machine).
3. Scan resistance: hit ratio of a hot set while a long scan runs, s3d's SIEVE (the real eviction
   code on a real SQLite store) against plain LRU on the same trace.

Results go to bench/results/gateway.json and the "Gateway and cache" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from tests.support import ceph  # the same one-node Ceph cluster and radosgw the gateway tests use

from bench.loadgen import wrk
from bench.procs import proc_cpu, tree
from bench.servers import ACCESS_KEY, SECRET_KEY, free_port, tool, wait_http
from bench.sigv4 import Signer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gateway.json"
DOC = ROOT / "docs" / "performance.md"
REMOTE_KEY, REMOTE_SECRET = "benchremotekey", "benchremotesecret0123"
MiB = 1024 * 1024
REMOTES = (("rclone", "rclone serve s3"), ("rgw", "Ceph RGW (one node, memstore)"))


def client(url: str, ak: str, sk: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 5}, max_pool_connections=16))  # fmt: skip


class Proc:
    def __init__(self, cmd: list[str], env: dict[str, str], log: Path, url: str) -> None:
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        wait_http(url, self.proc)
        self.url = url

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def start_remote(work: Path) -> Proc:
    port = free_port()
    root = work / f"remote-{port}"
    root.mkdir()
    cmd = [tool("rclone"), "serve", "s3", "--addr", f"127.0.0.1:{port}", "--auth-key", f"{REMOTE_KEY},{REMOTE_SECRET}",
           "--config", "/dev/null", str(root)]  # fmt: skip
    return Proc(cmd, {}, work / "remote.log", f"http://127.0.0.1:{port}")


@dataclass
class Endpoint:
    """A remote S3 to ship to: its address and keys."""

    url: str
    access_key: str
    secret_key: str


RemoteAt = Callable[[Path], AbstractContextManager[Endpoint]]  # a fresh remote for one measurement


@contextmanager
def rclone_remote(work: Path) -> Iterator[Endpoint]:
    """A fresh `rclone serve s3` (on disk)."""
    proc = start_remote(work)
    try:
        yield Endpoint(proc.url, REMOTE_KEY, REMOTE_SECRET)
    finally:
        proc.stop()


def rgw_remote(cluster: ceph.CephCluster) -> RemoteAt:
    """A fresh radosgw with a user of its own, on the run's one Ceph cluster, with its metadata cache on (as
    deployed); stopped cleanly and its data removed after."""

    @contextmanager
    def start(work: Path) -> Iterator[Endpoint]:
        gw = ceph.RadosGateway(cluster, metadata_cache=True).start()
        try:
            yield Endpoint(gw.url, gw.access_key, gw.secret_key)
        finally:
            gw.terminate()

    return start


def start_s3d(work: Path, remote: Endpoint, *args: str) -> Proc:
    port = free_port()
    env = {"S3D_ACCESS_KEY": ACCESS_KEY, "S3D_SECRET_KEY": SECRET_KEY, "AWS_ACCESS_KEY_ID": remote.access_key,
           "AWS_SECRET_ACCESS_KEY": remote.secret_key, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "S3D_LOG_LEVEL": "warning"}  # fmt: skip
    cmd = [sys.executable, "-m", "s3d", "run", "--data", str(work / f"s3d-{port}"), "--listen", f"127.0.0.1:{port}",
           "--remote", remote.url, *args]  # fmt: skip
    return Proc(cmd, env, work / "s3d.log", f"http://127.0.0.1:{port}/_s3d/health")


def flush(s3d_url: str, timeout: float) -> bool:
    import urllib.request

    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    req = botocore.awsrequest.AWSRequest(method="POST", url=f"{s3d_url}/_s3d/flush?timeout={int(timeout)}",
                                         headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})  # fmt: skip
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(req)
    r = urllib.request.Request(req.url, method="POST", headers=dict(req.headers.items()))
    with urllib.request.urlopen(r, timeout=timeout + 30) as resp:
        return bool(json.loads(resp.read())["flushed"])


def make_files(d: Path, count: int, size: int) -> list[Path]:
    d.mkdir(parents=True)
    chunk = os.urandom(min(size, 8 * MiB))
    out = []
    for i in range(count):
        p = d / f"f{i:05d}"
        with open(p, "wb") as f:
            left = size
            f.write(i.to_bytes(8, "big"))
            left -= 8
            while left > 0:
                f.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
        out.append(p)
    return out


def aws_cp(url: str, access_key: str, secret_key: str, files_dir: Path, bucket: str, timeout: float) -> None:
    """`aws s3 cp --recursive` of a folder: the same client, with its defaults, on both sides of a comparison."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    subprocess.run([tool("aws"), "--endpoint-url", url, "s3", "cp", "--recursive", "--only-show-errors",
                    str(files_dir), f"s3://{bucket}/"], env=env, check=True, timeout=timeout)  # fmt: skip


def ship(work: Path, remote_at: RemoteAt, files_dir: Path, timeout: float) -> dict[str, float]:
    """The aws CLI uploads the folder into s3d; timed until the remote holds everything."""
    with remote_at(work) as remote:
        s3d = start_s3d(work, remote, "--cache-max-bytes", "8G")
        try:
            url = s3d.url.rsplit("/_s3d", 1)[0]
            c = client(url, ACCESS_KEY, SECRET_KEY)
            c.create_bucket(Bucket="ship")
            flush(url, 60)
            total = sum(p.stat().st_size for p in files_dir.iterdir())
            t0 = time.perf_counter()
            aws_cp(url, ACCESS_KEY, SECRET_KEY, files_dir, "ship", timeout)
            acked = time.perf_counter() - t0
            ok = flush(url, timeout)
            shipped = time.perf_counter() - t0
            return {"bytes": total, "acked_s": acked, "shipped_s": shipped, "flushed": float(ok)}
        finally:
            s3d.stop()


def direct(work: Path, remote_at: RemoteAt, files_dir: Path, timeout: float) -> float:
    with remote_at(work) as remote:
        client(remote.url, remote.access_key, remote.secret_key).create_bucket(Bucket="direct")
        t0 = time.perf_counter()
        aws_cp(remote.url, remote.access_key, remote.secret_key, files_dir, "direct", timeout)
        return time.perf_counter() - t0


def cache_hit_vs_local(work: Path, seconds: float) -> dict[str, float]:
    proc = start_remote(work)
    remote = Endpoint(proc.url, REMOTE_KEY, REMOTE_SECRET)
    s3d = start_s3d(work, remote, "--cache-revalidate-after", "3600")
    try:
        url = s3d.url.rsplit("/_s3d", 1)[0]
        c = client(url, ACCESS_KEY, SECRET_KEY)
        c.create_bucket(Bucket="cache")
        body = os.urandom(4096)
        c.put_object(Bucket="cache", Key="local", Body=body)
        flush(url, 60)
        client(remote.url, REMOTE_KEY, REMOTE_SECRET).put_object(Bucket="cache", Key="remote", Body=body)
        r = c.get_object(Bucket="cache", Key="remote")
        r["Body"].read()
        r = c.get_object(Bucket="cache", Key="remote")
        assert r["ResponseMetadata"]["HTTPHeaders"]["x-s3d-cache"] == "hit"
        signer = Signer(url.split("//", 1)[1], ACCESS_KEY, SECRET_KEY)
        out: dict[str, list[float]] = {}
        cpu_us: dict[str, list[float]] = {}
        for key in ("local", "remote", "local", "remote"):
            path = signer.presign_many("GET", [f"/cache/{key}"])[0]
            before = sum(proc_cpu(p) for p in tree(s3d.proc.pid))
            res = wrk(url + path, threads=2, connections=32, duration=seconds)
            used = sum(proc_cpu(p) for p in tree(s3d.proc.pid)) - before
            out.setdefault(key, []).append(res["ops"])
            cpu_us.setdefault(key, []).append(used / max(1.0, res["requests"]) * 1e6)
        return {"local_rps": max(out["local"]), "hit_rps": max(out["remote"]),
                "local_cpu_us": min(cpu_us["local"]), "hit_cpu_us": min(cpu_us["remote"])}  # fmt: skip
    finally:
        s3d.stop()
        proc.stop()


def scan_resistance(capacity: int = 200, hot: int = 50, scan: int = 2000, rounds: int = 4) -> dict[str, float]:
    """Hot-set hit ratio during scans: s3d's SIEVE (real code, real SQLite) against LRU, same trace."""
    from s3d.store import cache_index, db

    rng = random.Random(7)
    trace: list[tuple[str, bool]] = []
    for r in range(rounds):
        for i in range(scan):
            trace.append((f"scan-{r}-{i}", False))
            if i % 4 == 0:
                trace.append((f"hot-{rng.randrange(hot)}", True))
    warm = [(f"hot-{i}", True) for i in range(hot)] * 3

    tmp = Path(tempfile.mkdtemp())
    path = str(tmp / "meta.db")
    db.init(path)
    conn = db.connect(path)
    conn.execute("PRAGMA synchronous=OFF")

    def sieve_access(key: str) -> bool:
        found = cache_index.blocks(conn, "b", key.encode(), "e", 0, 0)
        if found:
            cache_index.visit(conn, [found[0].id])
            return True
        with conn:
            conn.execute("BEGIN")
            rid, _ = cache_index.reserve(conn, 1, capacity)
            cache_index.add_block(conn, "b", key.encode(), "e", 0, 1, "")
            if rid is not None:
                cache_index.release(conn, rid)
        return False

    lru: OrderedDict[str, None] = OrderedDict()

    def lru_access(key: str) -> bool:
        if key in lru:
            lru.move_to_end(key)
            return True
        lru[key] = None
        if len(lru) > capacity:
            lru.popitem(last=False)
        return False

    out = {}
    for name, access in (("sieve", sieve_access), ("lru", lru_access)):
        for k, _ in warm:
            access(k)
        hits = total = 0
        for k, is_hot in trace:
            h = access(k)
            if is_hot:
                total += 1
                hits += h
        out[name] = hits / total
    conn.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def render(res: dict[str, Any]) -> str:
    def rate(b: float, s: float) -> str:
        return f"{b / s / MiB:,.1f} MiB/s"

    lines = [
        "## Gateway and cache",
        "",
        f"Run {res['date']} on the same machine; `python -m bench.gateway` (part of `make bench`).",
        "",
    ]
    lines += [
        "| workload | remote | s3d gateway (write → on the remote) | on the remote after the last write acknowledged "
        "| aws CLI straight to the remote | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for remote, label in REMOTES:
        for name in ("small", "large"):
            r = res.get(remote, {}).get(name)
            if r is None:
                continue
            size = res.get("sizes", {}).get(name) or ("1,000 x 64 KiB" if name == "small" else "4 x 256 MiB")
            lines.append(
                f"| {size} | {label} | {rate(r['bytes'], r['shipped_s'])} (writes acknowledged at "
                f"{rate(r['bytes'], r['acked_s'])}) | {r['shipped_s'] - r['acked_s']:.2f} s | "
                f"{rate(r['bytes'], r['direct_s'])} | {r['direct_s'] / r['shipped_s']:.2f}× |"
            )
    if "rgw" not in res:
        lines += ["", f"Ceph RGW rows: not run ({res.get('rgw_missing', 'Ceph not installed')})."]
    c = res["cache"]
    lines += ["", "| read cache | figure | target |", "|---|---|---|",
              f"| GET 4 KiB, cache hit of a remote object | {c['hit_rps']:,.0f} ops/s | |",
              f"| GET 4 KiB, local object (same daemon) | {c['local_rps']:,.0f} ops/s | |",
              f"| cache hit / local | {c['hit_rps'] / c['local_rps']:.2f}× | ≥ 0.95 |",
              f"| CPU per GET, local / cache hit | {c['local_cpu_us']:.0f} µs / {c['hit_cpu_us']:.0f} µs = "
              f"{c['local_cpu_us'] / c['hit_cpu_us']:.2f}× | ≥ 0.95 |",
              f"| hot-set hit ratio during scans, SIEVE (s3d) | {res['scan']['sieve']:.1%} | better than LRU |",
              f"| hot-set hit ratio during scans, plain LRU | {res['scan']['lru']:.1%} | |", ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, short wrk runs")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="s3d-gwbench-", dir="/var/tmp"))
    small_n, large_n, large_size, secs = (200, 2, 32 * MiB, 2.0) if a.quick else (1000, 4, 256 * MiB, 8.0)
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": a.quick}
    res["sizes"] = {"small": f"{small_n:,} x 64 KiB", "large": f"{large_n} x {large_size // MiB} MiB"}
    cluster: ceph.CephCluster | None = None
    try:
        remotes: dict[str, RemoteAt] = {"rclone": rclone_remote}
        missing = ceph.missing_binaries()
        if missing:
            res["rgw_missing"] = f"{', '.join(missing)} not installed: apt-get install {ceph.PACKAGES}"
            print(f"[gateway] Ceph RGW skipped: {res['rgw_missing']}", flush=True)
        else:
            cluster = ceph.CephCluster(work / "ceph").start()
            remotes["rgw"] = rgw_remote(cluster)
        for name, n, size in (("small", small_n, 64 * 1024), ("large", large_n, large_size)):
            make_files(work / f"{name}-files", n, size)
            for remote, remote_at in remotes.items():
                r = ship(work, remote_at, work / f"{name}-files", timeout=900)
                r["direct_s"] = direct(work, remote_at, work / f"{name}-files", timeout=900)
                res.setdefault(remote, {})[name] = r
                print(f"[gateway] {name} to {remote}: shipped in {r['shipped_s']:.2f} s, aws CLI direct "
                      f"{r['direct_s']:.2f} s", flush=True)  # fmt: skip
            shutil.rmtree(work / f"{name}-files")
        res["cache"] = cache_hit_vs_local(work, secs)
        print(
            f"[gateway] cache hit {res['cache']['hit_rps']:.0f} ops/s, local {res['cache']['local_rps']:.0f} ops/s",
            flush=True,
        )
        res["scan"] = scan_resistance()
        print(f"[gateway] scan: SIEVE {res['scan']['sieve']:.1%} vs LRU {res['scan']['lru']:.1%}", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    section = render(res)
    print(section)
    if not a.quick:
        doc = DOC.read_text() if DOC.exists() else "# Performance\n"
        head = doc.split("## Gateway and cache", 1)[0].rstrip() + "\n\n"
        DOC.write_text(head + section + "\n")


if __name__ == "__main__":
    main()
