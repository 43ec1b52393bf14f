"""`make bench`, HTTPS part: small GETs and one large download over plain HTTP and over TLS, side by side.

python -m bench.tls [--quick] [--count N] [--download-mib N] [--workdir DIR]

One s3d serves both (--listen plain, --listen-tls with a self-signed certificate). Small GETs run on
one keep-alive connection, at most --count requests or 20 s each; the download reads a presigned GET
in 1 MiB pieces. The daemon's peak RSS shows that TLS downloads stream in bounded memory (no sendfile).
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from bench import procs
from bench.servers import free_port, wait_http

MiB = 1024 * 1024
ACCESS, SECRET = "BENCHTLSACCESSKEY", "bench-tls-secret-0123456789"
SMALL = 4096
TIME_LIMIT = 20.0
PIECE = MiB


def _client(endpoint: str, verify: str | bool) -> object:
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
        region_name="us-east-1", verify=verify, config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


def _connect(url: str, ctx: ssl.SSLContext | None) -> tuple[http.client.HTTPConnection, str]:
    u = urlsplit(url)
    conn: http.client.HTTPConnection
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname or "", u.port, context=ctx, timeout=120)
    else:
        conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=120)
    return conn, u.path + "?" + u.query


def small_gets(url: str, ctx: ssl.SSLContext | None, count: int) -> tuple[float, float]:
    """(requests/s, median latency ms) of sequential GETs of one presigned URL on a keep-alive connection."""
    conn, target = _connect(url, ctx)
    lat = []
    start = time.perf_counter()
    for _ in range(count):
        t = time.perf_counter()
        conn.request("GET", target)
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        lat.append(time.perf_counter() - t)
        if time.perf_counter() - start > TIME_LIMIT:
            break
    total = time.perf_counter() - start
    conn.close()
    return len(lat) / total, statistics.median(lat) * 1000


def download(url: str, ctx: ssl.SSLContext | None, size: int) -> float:
    """MiB/s of one GET read to the end."""
    conn, target = _connect(url, ctx)
    start = time.perf_counter()
    conn.request("GET", target)
    r = conn.getresponse()
    got = 0
    while True:
        piece = r.read(PIECE)
        if not piece:
            break
        got += len(piece)
    conn.close()
    assert got == size, (got, size)
    return size / MiB / (time.perf_counter() - start)


def peak_rss_mib(pid: int) -> float:
    """Largest VmHWM among the daemon's processes."""
    best = 0
    for p in procs.tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]))
        except OSError:
            continue
    return best / 1024


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.tls", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="256 MiB download, 2,000 small GETs")
    ap.add_argument("--count", type=int, help="small GETs per scheme (default 20,000)")
    ap.add_argument("--download-mib", type=int, help="size of the large download (default 1024)")
    ap.add_argument("--workdir", default="/var/tmp")
    a, _ = ap.parse_known_args(argv)
    count = a.count or (2_000 if a.quick else 20_000)
    size = (a.download_mib or (256 if a.quick else 1024)) * MiB
    work = Path(tempfile.mkdtemp(prefix="s3d-bench-tls-", dir=a.workdir))
    port, tls_port = free_port(), free_port()
    env = dict(os.environ) | {"S3D_ACCESS_KEY": ACCESS, "S3D_SECRET_KEY": SECRET}
    cmd = [sys.executable, "-m", "s3d", "run", "--data", str(work / "data"), "--listen", f"127.0.0.1:{port}",
           "--listen-tls", f"127.0.0.1:{tls_port}", "--tls-self-signed", "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/_s3d/health", proc)
        cert = str(work / "data" / "tls" / "cert.pem")
        ctx = ssl.create_default_context(cafile=cert)
        http_ep, https_ep = f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls_port}"
        s3 = _client(http_ep, False)
        s3.create_bucket(Bucket="bench-tls")  # type: ignore[attr-defined]
        s3.put_object(Bucket="bench-tls", Key="small", Body=os.urandom(SMALL))  # type: ignore[attr-defined]
        big = work / "big.bin"
        with open(big, "wb") as f:
            block = os.urandom(MiB)
            for _ in range(size // MiB):
                f.write(block)
        s3.upload_file(str(big), "bench-tls", "big")  # type: ignore[attr-defined]
        big.unlink()
        rows = []
        for scheme, ep, c in (("http", http_ep, None), ("https", https_ep, ctx)):
            client = _client(ep, cert if c else False)
            small_url = client.generate_presigned_url("get_object", Params={"Bucket": "bench-tls", "Key": "small"})  # type: ignore[attr-defined]
            big_url = client.generate_presigned_url("get_object", Params={"Bucket": "bench-tls", "Key": "big"})  # type: ignore[attr-defined]
            rps, p50 = small_gets(small_url, c, count)
            mibs = download(big_url, c, size)
            rows.append((scheme, rps, p50, mibs, peak_rss_mib(proc.pid)))
        print(f"s3d over HTTP and HTTPS (1 worker, one connection, loopback; download {size // MiB} MiB)")
        print(f"{'scheme':8} {'4 KiB GET req/s':>16} {'p50 ms':>8} {'download MiB/s':>15} {'peak RSS MiB':>13}")
        for scheme, rps, p50, mibs, rss in rows:
            print(f"{scheme:8} {rps:16.0f} {p50:8.2f} {mibs:15.0f} {rss:13.0f}")
        return 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
