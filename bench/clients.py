"""The clients besides wrk: a raw signed HTTP client for listings, rclone and boto3 for large transfers."""

from __future__ import annotations

import hashlib
import html
import http.client
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.servers import Server, tool
from bench.sigv4 import Signer

MiB = 1024 * 1024
_KEY = re.compile(rb"<Key>([^<]*)</Key>")
_TOKEN = re.compile(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>")
_TRUNC = re.compile(rb"<IsTruncated>\s*true\s*</IsTruncated>")


class Raw:
    """Signed requests over one keep-alive connection; the listing client, the same for every server."""

    def __init__(self, server: Server) -> None:
        self.signer = Signer(server.host, server.access_key, server.secret_key)
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        self.used = time.monotonic()

    IDLE = 5.0  # servers close idle keep-alive connections (s3d after 60 s): reconnect after this long

    def request(self, method: str, path: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
        if time.monotonic() - self.used > self.IDLE:
            self.conn.close()
        for attempt in (1, 2):
            target, headers = self.signer.headers(method, path, params)
            try:
                self.conn.request(method, target, headers=headers)
                r = self.conn.getresponse()
                body = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # closed by the server before it read the request: once more, fresh
                if attempt == 2:
                    raise
        self.used = time.monotonic()
        return r.status, body

    def create_bucket(self, bucket: str) -> None:
        status, body = self.request("PUT", f"/{bucket}")
        if status != 200:
            raise RuntimeError(f"CreateBucket {bucket}: {status} {body[:300]!r}")

    def put(self, bucket: str, key: str, body: bytes) -> None:
        url = f"http://{self.signer.host}" + self.signer.presign("PUT", f"/{bucket}/{key}")
        req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()

    def list_page(
        self, bucket: str, token: str | None = None, names: list[str] | None = None
    ) -> tuple[int, str | None]:
        """One ListObjectsV2 page (max-keys 1000): (keys on it, next continuation token or None).
        The keys' names are appended to `names` if one is given."""
        params = {"list-type": "2", "max-keys": "1000"}
        if token:
            params["continuation-token"] = token
        status, body = self.request("GET", f"/{bucket}", params)
        if status != 200:
            raise RuntimeError(f"ListObjectsV2 {bucket}: {status} {body[:300]!r}")
        found = _KEY.findall(body)
        if names is not None:
            names.extend(html.unescape(k.decode()) for k in found)
        n = len(found)
        m = _TOKEN.search(body)
        if _TRUNC.search(body) and m:
            return n, html.unescape(m.group(1).decode())
        return n, None

    def list_all(self, bucket: str, names: list[str] | None = None, max_pages: int = 100_000) -> tuple[int, int]:
        """Every page of a bucket: (keys, pages)."""
        keys = pages = 0
        token: str | None = None
        while pages < max_pages:
            n, token = self.list_page(bucket, token, names)
            keys, pages = keys + n, pages + 1
            if token is None:
                break
        return keys, pages

    def close(self) -> None:
        self.conn.close()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


def make_source(path: Path, size: int) -> str:
    """A file of `size` random bytes (reused if already there); returns its SHA-256."""
    if path.exists() and path.stat().st_size == size:
        return sha256_file(path)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(16 * MiB, left))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


# rclone: the same flags against every server. No MD5 pre-pass over the source on upload and no MD5
# check after download: the harness checks the download's SHA-256 itself, outside the timing.
RCLONE_COMMON = ["--retries", "1", "--low-level-retries", "1", "--stats", "0", "--s3-no-check-bucket"]
RCLONE_UP = ["--s3-chunk-size", "16M", "--s3-upload-concurrency", "4", "--s3-disable-checksum"]
RCLONE_DOWN = ["--multi-thread-streams", "4", "--ignore-checksum"]


def rclone(server: Server, workdir: Path, args: list[str], timeout: float) -> None:
    conf = workdir / "rclone-client.conf"
    conf.touch()
    env = dict(os.environ)
    env.update({
        "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": server.endpoint, "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": server.access_key,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": server.secret_key,
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    })  # fmt: skip
    cmd = [tool("rclone"), "--config", str(conf), *RCLONE_COMMON, *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"rclone {args[0]} failed ({out.returncode}): {out.stderr.strip()[-400:]}")


def rclone_upload(server: Server, workdir: Path, src: Path, bucket: str, key: str, timeout: float) -> None:
    rclone(server, workdir, ["copyto", *RCLONE_UP, str(src), f"bench:{bucket}/{key}"], timeout)


def rclone_download(server: Server, workdir: Path, bucket: str, key: str, dst: Path, timeout: float) -> None:
    dst.unlink(missing_ok=True)
    rclone(server, workdir, ["copyto", *RCLONE_DOWN, f"bench:{bucket}/{key}", str(dst)], timeout)


def boto3_transfer(server: Server, direction: str, bucket: str, key: str, path: Path, timeout: float) -> float:
    """Upload or download with boto3 in a subprocess (so it is bounded in time); returns the transfer's seconds."""
    if direction == "down":
        path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.boto3_transfer", direction, server.endpoint, bucket, key, str(path)]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"boto3 {direction} failed ({out.returncode}): {out.stderr.strip()[-400:]}")
    return float(out.stdout.split()[-1])


def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0
