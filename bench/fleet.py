"""Fleet benchmark: two s3d daemons in front of one remote bucket, on loopback only.

For each remote (`rclone serve s3`; Ceph's radosgw on a one-node cluster when Ceph is installed):

1. Shipping: one daemon writes N x 64 KiB objects, against two daemons writing N/2 each at the same time
   (same total), timed from the first write until every daemon's flush is done. The ratio says what a
   second daemon adds or costs on one remote bucket.
2. Convergence: after both flushed, how long until each daemon lists all of the other's keys (the
   re-listing runs every S3D_REMOTE_REFRESH seconds, set to 2 here), and a GET through B of every key A
   wrote returns A's bytes at once (read-through).
3. Contention: both daemons write the same K keys; after both flushed and the revalidation time passed,
   how many keys read the same through A, through B and on the remote, and how many conflicts each
   daemon detected (remotes that ignore conditional writes detect none: the last writer wins).

Results go to bench/results/fleet.json and the "Fleet" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.support import ceph

from bench.gateway import Endpoint, Proc, RemoteAt, client, flush, rclone_remote, rgw_remote, start_s3d
from bench.servers import ACCESS_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "fleet.json"
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Fleet"
REMOTES = (("rclone", "rclone serve s3"), ("rgw", "Ceph RGW (one node, memstore)"))
OBJECT_SIZE = 64 * 1024
REFRESH_S = 2
REVALIDATE_S = 1
CONVERGE_TIMEOUT_S = 120.0
WRITERS = 8  # client threads per daemon


def daemons(work: Path, remote: Endpoint, count: int) -> list[Proc]:
    env_args = ("--cache-max-bytes", "8G", "--cache-revalidate-after", str(REVALIDATE_S))
    os.environ["S3D_REMOTE_REFRESH"] = str(REFRESH_S)  # read by the daemons this process starts
    return [start_s3d(work, remote, *env_args) for _ in range(count)]


def url_of(p: Proc) -> str:
    return p.url.rsplit("/_s3d", 1)[0]


def write_keys(url: str, keys: list[str], body_of: Any) -> None:
    c = client(url, ACCESS_KEY, SECRET_KEY)
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(lambda k: c.put_object(Bucket="fleet", Key=k, Body=body_of(k)), keys))


def listed(url: str) -> set[str]:
    c = client(url, ACCESS_KEY, SECRET_KEY)
    out: set[str] = set()
    for page in c.get_paginator("list_objects_v2").paginate(Bucket="fleet"):
        out.update(o["Key"] for o in page.get("Contents", []))
    return out


def conflicts(url: str) -> int:
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    for line in text.splitlines():
        if line.startswith('s3d_events_total{event="ship_conflict"}'):
            return int(float(line.split()[-1]))
    return 0


def shipping(work: Path, remote_at: RemoteAt, n: int, count: int) -> float:
    """Seconds from the first write until every daemon flushed: n objects split over ``count`` daemons."""
    payload = os.urandom(OBJECT_SIZE)
    with remote_at(work) as remote:
        procs = daemons(work, remote, count)
        try:
            urls = [url_of(p) for p in procs]
            client(urls[0], ACCESS_KEY, SECRET_KEY).create_bucket(Bucket="fleet")
            assert flush(urls[0], 60)
            shares = [[f"d{i}/k{j:05d}" for j in range(i, n, count)] for i in range(count)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(count) as pool:
                list(pool.map(lambda ik: write_keys(urls[ik[0]], ik[1], lambda _k: payload), enumerate(shares)))
                done = list(pool.map(lambda u: flush(u, 900), urls))
            assert all(done), "a daemon did not flush"
            return time.perf_counter() - t0
        finally:
            for p in procs:
                p.stop()


def convergence_and_contention(work: Path, remote_at: RemoteAt, n: int, contended: int) -> dict[str, float]:
    with remote_at(work) as remote:
        a, b = daemons(work, remote, 2)
        try:
            ua, ub = url_of(a), url_of(b)
            client(ua, ACCESS_KEY, SECRET_KEY).create_bucket(Bucket="fleet")
            assert flush(ua, 60)
            keys_a = [f"a/k{j:05d}" for j in range(n)]
            write_keys(ua, keys_a, lambda k: k.encode() * 64)
            assert flush(ua, 900)
            t0 = time.perf_counter()
            cb = client(ub, ACCESS_KEY, SECRET_KEY)
            read_through = sum(cb.get_object(Bucket="fleet", Key=k)["Body"].read() == k.encode() * 64 for k in keys_a)
            read_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            while not set(keys_a) <= listed(ub) and time.perf_counter() - t0 < CONVERGE_TIMEOUT_S:
                time.sleep(0.2)
            listed_s = time.perf_counter() - t0
            same = [f"same/k{j:04d}" for j in range(contended)]
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda u: write_keys(u, same, lambda k, u=u: f"{k} from {u}".encode()), (ua, ub)))
                assert all(pool.map(lambda u: flush(u, 900), (ua, ub)))
            time.sleep(REVALIDATE_S + 1)
            rc = client(remote.url, remote.access_key, remote.secret_key)
            ca = client(ua, ACCESS_KEY, SECRET_KEY)
            agree = 0
            for k in same:
                on_remote = rc.get_object(Bucket="fleet", Key=k)["Body"].read()
                agree += (
                    on_remote
                    == ca.get_object(Bucket="fleet", Key=k)["Body"].read()
                    == cb.get_object(Bucket="fleet", Key=k)["Body"].read()
                )
            return {
                "read_through_ok": read_through / n, "read_through_s": read_s, "listed_s": listed_s,
                "contended": contended, "agree": agree, "conflicts_a": conflicts(ua), "conflicts_b": conflicts(ub),
            }  # fmt: skip
        finally:
            a.stop()
            b.stop()


def render(res: dict[str, Any]) -> str:
    lines = [SECTION, "", f"Run {res['date']}; `python -m bench.fleet` (part of `make bench`). Two daemons, one remote "
             f"bucket, {res['n']:,} x 64 KiB objects, S3D_REMOTE_REFRESH={REFRESH_S} s, "
             f"--cache-revalidate-after {REVALIDATE_S} s.", "",
             "| remote | 1 daemon ships all | 2 daemons ship half each | ratio (2 / 1) | B reads A's keys at once | "
             "B lists A's keys after | same keys written by both: agree (A, B, remote) | conflicts detected (A + B) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, label in REMOTES:
        r = res.get(name)
        if r is None:
            continue
        lines.append(
            f"| {label} | {r['one_s']:.2f} s | {r['two_s']:.2f} s | {r['one_s'] / r['two_s']:.2f}× | "
            f"{r['read_through_ok']:.0%} in {r['read_through_s']:.2f} s | {r['listed_s']:.1f} s | "
            f"{r['agree']} of {r['contended']} | {r['conflicts_a'] + r['conflicts_b']} |"
        )
    if "rgw" not in res:
        lines += ["", f"Ceph RGW row: not run ({res.get('rgw_missing', 'Ceph not installed')})."]
    return "\n".join(lines + [""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small counts")
    a = ap.parse_args()
    n, contended = (200, 20) if a.quick else (1000, 100)
    work = Path(tempfile.mkdtemp(prefix="s3d-fleetbench-", dir="/var/tmp"))
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": a.quick, "n": n}
    cluster: ceph.CephCluster | None = None
    try:
        remotes: dict[str, RemoteAt] = {"rclone": rclone_remote}
        missing = ceph.missing_binaries()
        if missing:
            res["rgw_missing"] = f"{', '.join(missing)} not installed: apt-get install {ceph.PACKAGES}"
        else:
            cluster = ceph.CephCluster(work / "ceph").start()
            remotes["rgw"] = rgw_remote(cluster)
        for name, remote_at in remotes.items():
            r: dict[str, float] = {"one_s": shipping(work, remote_at, n, 1), "two_s": shipping(work, remote_at, n, 2)}
            r.update(convergence_and_contention(work, remote_at, n, contended))
            res[name] = r
            print(f"[fleet] {name}: {r}", flush=True)
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
        if SECTION in doc:
            before, rest = doc.split(SECTION, 1)
            after = rest.split("\n## ", 1)[1] if "\n## " in rest else ""
            doc = before + section + ("\n## " + after if after else "")
        else:
            doc = doc.rstrip() + "\n\n" + section
        DOC.write_text(doc)


if __name__ == "__main__":
    main()
