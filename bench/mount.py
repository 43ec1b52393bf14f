"""FUSE mounts side by side (issue 18): `s3d mount`, s3fs-fuse and `rclone mount --vfs-cache-mode full`, all
mounting the same bucket of the same s3d daemon, on loopback.

Workloads: sequential read of a 1 GiB file (dd), 10,000 random 4 KiB reads in it (posix_fadvise RANDOM, so the
kernel reads only what is asked), `ls -l` of a directory of 10,000 files (warm: the second run), untar of 5,000
files of 1-16 KiB, dd of a 1 GiB file then close. Each workload runs for every tool in turn, each on a fresh
mount (the machine's load changes alike for all). `--quick` shrinks every size.

rclone's `--vfs-cache-mode full` acknowledges close before uploading (write-back); s3d and s3fs upload on close,
so their write figures include the upload. Results: bench/results/mount.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.servers import ACCESS_KEY, SECRET_KEY, free_port, tool, wait_http
from bench.setup import ensure

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "mount.json"
MiB = 1024 * 1024
BUCKET = "bench"
MOUNT_WAIT = 120.0
EXIT_WAIT = 900.0  # rclone uploads what it holds before its process exits
SEED = 18


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"big": 64 * MiB, "random_reads": 1000, "listed": 1000, "untar": 500, "write": 64 * MiB}
    return {"big": 1024 * MiB, "random_reads": 10_000, "listed": 10_000, "untar": 5_000, "write": 1024 * MiB}


class Daemon:
    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "S3D_ACCESS_KEY": ACCESS_KEY, "S3D_SECRET_KEY": SECRET_KEY, "S3D_LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "s3d", "run", "--data", str(work / "data"), "--listen", f"127.0.0.1:{self.port}",
             "--workers", "2"],
            env=env, stdout=open(work / "s3d.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_http(self.endpoint + "/_s3d/health", self.proc)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(60)


def client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        region_name="us-east-1", config=Config(max_pool_connections=16))  # fmt: skip


def prepare(s3: Any, work: Path, n: dict[str, int]) -> Path:
    """The bucket: a big file and a directory of many small ones; returns the tar to extract."""
    s3.create_bucket(Bucket=BUCKET)
    big = work / "big.bin"
    with open(big, "wb") as f:
        for _ in range(n["big"] // MiB):
            f.write(os.urandom(MiB))
    with open(big, "rb") as f:  # one PUT, as a mount writes it (a multipart object reads differently)
        s3.put_object(Bucket=BUCKET, Key="big.bin", Body=f)
    big.unlink()
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(lambda i: s3.put_object(Bucket=BUCKET, Key=f"many/f{i:05d}", Body=b"x" * 100), range(n["listed"]))
        )
    rng = random.Random(SEED)
    archive = work / "small.tar"
    with tarfile.open(archive, "w") as t:
        for i in range(n["untar"]):
            data = rng.randbytes(rng.randrange(1024, 16 * 1024 + 1))
            info = tarfile.TarInfo(f"tree/d{i % 50:02d}/f{i:05d}")
            info.size = len(data)
            info.mtime = 1_700_000_000
            t.addfile(info, io.BytesIO(data))
    os.sync()  # the filling's writeback, outside the timing: else the first workload's first tool pays it
    return archive


def wait_mounted(path: Path, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + MOUNT_WAIT
    while not os.path.ismount(path):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"mount of {path} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} was not mounted within {MOUNT_WAIT:g}s")
        time.sleep(0.05)


def mount_s3d(endpoint: str, mnt: Path, work: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "S3D_ACCESS_KEY": ACCESS_KEY, "S3D_SECRET_KEY": SECRET_KEY}
    proc = subprocess.Popen([sys.executable, "-m", "s3d", "mount", BUCKET, str(mnt), "--endpoint", endpoint],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(work / "s3d-mount.log", "ab"))  # fmt: skip
    wait_mounted(mnt, proc)
    return proc


def mount_s3fs(endpoint: str, mnt: Path, work: Path) -> subprocess.Popen[bytes]:
    passwd = work / "s3fs.passwd"
    passwd.write_text(f"{ACCESS_KEY}:{SECRET_KEY}\n")
    passwd.chmod(0o600)
    proc = subprocess.Popen(
        [tool("s3fs"), BUCKET, str(mnt), "-f", "-o", f"url={endpoint}", "-o", "use_path_request_style",
         "-o", f"passwd_file={passwd}", "-o", "dbglevel=warn"],
        stdout=subprocess.DEVNULL, stderr=open(work / "s3fs.log", "ab"),
    )  # fmt: skip
    wait_mounted(mnt, proc)
    return proc


def mount_rclone(endpoint: str, mnt: Path, work: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RCLONE_CONFIG_S3D_TYPE": "s3", "RCLONE_CONFIG_S3D_PROVIDER": "Other",
           "RCLONE_CONFIG_S3D_ENDPOINT": endpoint, "RCLONE_CONFIG_S3D_ACCESS_KEY_ID": ACCESS_KEY,
           "RCLONE_CONFIG_S3D_SECRET_ACCESS_KEY": SECRET_KEY, "RCLONE_CONFIG_S3D_FORCE_PATH_STYLE": "true"}  # fmt: skip
    proc = subprocess.Popen(
        [tool("rclone"), "mount", f"s3d:{BUCKET}", str(mnt), "--vfs-cache-mode", "full",
         "--cache-dir", str(work / "rclone-cache")],
        env=env, stdout=subprocess.DEVNULL, stderr=open(work / "rclone.log", "ab"),
    )  # fmt: skip
    wait_mounted(mnt, proc)
    return proc


MOUNTS: dict[str, Callable[[str, Path, Path], subprocess.Popen[bytes]]] = {
    "s3d mount": mount_s3d,
    "s3fs": mount_s3fs,
    "rclone mount": mount_rclone,
}


def unmount(mnt: Path, proc: subprocess.Popen[bytes]) -> None:
    subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
    if os.path.ismount(mnt):
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True)
    try:
        proc.wait(EXIT_WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[:300]}")


def random_reads(path: Path, count: int, size: int) -> None:
    rng = random.Random(SEED)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        blocks = size // 4096
        for _ in range(count):
            if len(os.pread(fd, 4096, rng.randrange(blocks) * 4096)) != 4096:
                raise RuntimeError("short read")
    finally:
        os.close(fd)


STEPS = ("seq_read_MiBps", "random_4k_ops", "ls_cold_s", "untar_s", "write_MiBps")


def workload(name: str, key: str, endpoint: str, work: Path, archive: Path, n: dict[str, int]) -> dict[str, float]:
    """One workload on a fresh mount of one tool, so no page cache is carried from one to the next."""
    tag = name.split()[0]
    count = n["write"] // MiB
    steps: dict[str, Callable[[Path], float]] = {
        "seq_read_MiBps": lambda m: n["big"] / MiB / timed(lambda: run(["dd", f"if={m / 'big.bin'}", "of=/dev/null", "bs=1M", "status=none"])),
        "random_4k_ops": lambda m: n["random_reads"] / timed(lambda: random_reads(m / "big.bin", n["random_reads"], n["big"])),
        "ls_cold_s": lambda m: timed(lambda: run(["ls", "-l", str(m / "many")])),
        "untar_s": lambda m: timed(lambda: run(["tar", "-xf", str(archive), "-C", str(m / f"untar-{tag}")])),
        "write_MiBps": lambda m: n["write"] / MiB / timed(lambda: run(["dd", "if=/dev/zero", f"of={m / f'written-{tag}.bin'}", "bs=1M", f"count={count}", "status=none"])),
    }  # fmt: skip
    out: dict[str, float] = {}
    mnt = work / f"mnt-{tag}"
    mnt.mkdir(exist_ok=True)
    proc = MOUNTS[name](endpoint, mnt, work)
    try:
        if key == "untar_s":
            (mnt / f"untar-{tag}").mkdir()
        out[key] = steps[key](mnt)
        if key == "ls_cold_s":
            out["ls_warm_s"] = timed(lambda: run(["ls", "-l", str(mnt / "many")]))
    finally:
        unmount(mnt, proc)
    return out


RATIOS = (  # (result, label, higher is better)
    ("seq_read_MiBps", "sequential read MiB/s", True),
    ("random_4k_ops", "random 4 KiB reads/s", True),
    ("ls_warm_s", "ls -l warm, s", False),
    ("ls_cold_s", "ls -l cold, s", False),
    ("untar_s", "untar, s", False),
    ("write_MiBps", "dd write + close MiB/s", True),
)


def report(results: dict[str, dict[str, float]]) -> str:
    names = list(results)
    lines = ["| workload | " + " | ".join(names) + " | s3d vs s3fs | s3d vs rclone |", "|---" * (len(names) + 3) + "|"]
    for key, label, higher in RATIOS:
        row = [f"{results[n][key]:.3g}" for n in names]
        s3d = results["s3d mount"][key]

        def ratio(other: str, s3d: float = s3d, key: str = key, higher: bool = higher) -> str:
            if other not in results:
                return "-"
            o = results[other][key]
            return f"{(s3d / o if higher else o / s3d):.2f}x"

        lines.append(f"| {label} | " + " | ".join(row) + f" | {ratio('s3fs')} | {ratio('rclone mount')} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--only", action="append", choices=list(MOUNTS), help="run only these mounts")
    args = ap.parse_args()
    ensure()
    n = sizes(args.quick)
    work = Path(tempfile.mkdtemp(prefix="s3d-bench-mount-"))
    daemon = Daemon(work)
    results: dict[str, dict[str, float]] = {}
    try:
        archive = prepare(client(daemon.endpoint), work, n)
        for key in STEPS:  # each workload for every tool in turn: a change of the machine's load hits them alike
            for name in args.only or list(MOUNTS):
                got = workload(name, key, daemon.endpoint, work, archive, n)
                results.setdefault(name, {}).update(got)
                print(name, json.dumps(got), flush=True)
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.only and RESULTS.exists():  # a partial run updates the others' last figures
        previous = json.loads(RESULTS.read_text())
        if previous.get("sizes") == n:
            results = {**previous["results"], **results}
    RESULTS.write_text(json.dumps({"sizes": n, "results": results}, indent=2) + "\n")
    if "s3d mount" in results:
        print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
