"""Erasure coding: a 4+2 pool over six directories against one directory, on one machine, in one run.

python -m bench.erasure [--quick] [--large-mib N] [--workdir DIR] [--out FILE]

- the codec per core: encode and decode (two data fragments missing: real reconstruction) of 1 MiB
  stripes, and CRC32C, in this process;
- a large file (default 1 GiB) uploaded and downloaded with boto3's transfer manager, to s3d on one
  directory and to s3d on the pool (--drives, --erasure 4+2): MiB/s and the pool/one-directory ratio;
- the time to rebuild one lost drive (`s3d drive replace`, daemon stopped) and the bytes it rebuilt;
- the scrub's CPU per GiB verified (the healer's own verify-and-heal over every blob).

The six "drives" are directories on the same disk here: the figures show the CPU and the write
amplification (1.5x at 4+2), not the parallelism of six real disks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.clients import boto3_transfer, make_source, sha256_file
from bench.servers import S3d

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20
K, M, N = 4, 2, 6
BUCKET = "bench-erasure"
TRANSFER_TIMEOUT = 1800.0
CODEC_MIB = 64


class S3dPool(S3d):
    def drives(self) -> list[Path]:
        return [self.workdir / f"{self.name}-drive{i}" for i in range(N)]

    def start(self) -> S3dPool:
        for d in self.drives():
            shutil.rmtree(d, ignore_errors=True)
        super().start()
        return self

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update({"S3D_DRIVES": ",".join(map(str, self.drives())), "S3D_ERASURE": f"{K}+{M}"})
        return env

    def cleanup(self) -> None:
        super().cleanup()
        for d in self.drives():
            shutil.rmtree(d, ignore_errors=True)


def codec_figures() -> dict[str, float]:
    from awscrt.checksums import crc32c

    from s3d.store.erasure.codec import Codec

    codec = Codec(K, M)
    stripe = os.urandom(MiB)
    t0 = time.process_time()
    for _ in range(CODEC_MIB):
        frags = codec.encode(stripe)
    encode = time.process_time() - t0
    survivors = frags[2:]  # data fragments 0 and 1 lost
    t0 = time.process_time()
    for _ in range(CODEC_MIB):
        assert codec.decode(survivors) == stripe
    decode = time.process_time() - t0
    t0 = time.process_time()
    for _ in range(CODEC_MIB):
        crc32c(stripe)
    crc = time.process_time() - t0
    return {"encode_mib_s_per_core": CODEC_MIB / encode, "decode_mib_s_per_core": CODEC_MIB / decode,
            "crc32c_mib_s_per_core": CODEC_MIB / crc}  # fmt: skip


def transfer(server: S3d, src: Path, digest: str, workdir: Path) -> dict[str, float]:
    import boto3

    boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
    ).create_bucket(Bucket=BUCKET)  # fmt: skip
    size = src.stat().st_size
    up = boto3_transfer(server, "up", BUCKET, "large", src, TRANSFER_TIMEOUT)
    dst = workdir / "down.bin"
    down = boto3_transfer(server, "down", BUCKET, "large", dst, TRANSFER_TIMEOUT)
    if sha256_file(dst) != digest:
        raise RuntimeError(f"{server.name}: the downloaded file differs from the upload")
    dst.unlink()
    return {"put_mib_s": size / MiB / up, "get_mib_s": size / MiB / down}


def heal_and_scrub(pool: S3dPool) -> dict[str, float]:
    from s3d.store.erasure.heal import heal
    from s3d.store.erasure.layout import parse
    from s3d.store.erasure.pool import ErasurePool
    from s3d.store.erasure.service import referenced_blobs

    drives = pool.drives()
    lost, new = drives[0], pool.workdir / f"{pool.name}-drive0-new"
    shutil.rmtree(lost)
    shutil.rmtree(new, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "s3d", "drive", "replace", str(lost), str(new), "--data", str(pool.data),
         "--drives", ",".join(map(str, drives)), "--erasure", f"{K}+{M}"],
        env=env, capture_output=True, text=True, timeout=TRANSFER_TIMEOUT,
    )  # fmt: skip
    rebuild = time.monotonic() - t0
    if out.returncode != 0:
        raise RuntimeError(f"drive replace failed: {out.stderr.strip()[-400:]}")
    rebuilt = sum(p.stat().st_size for p in new.rglob("*") if p.is_file())
    drives[0] = new
    p = ErasurePool(pool.data, parse(f"{K}+{M}", drives))
    conn = sqlite3.connect(str(pool.data / "meta.db"))
    blobs = referenced_blobs(conn)
    conn.close()
    t0, c0 = time.monotonic(), time.process_time()
    read = sum(heal(p, b).bytes_read for b in blobs)
    scrub_wall, scrub_cpu = time.monotonic() - t0, time.process_time() - c0
    gib = read / (1 << 30)
    return {"rebuild_s": rebuild, "rebuilt_mib": rebuilt / MiB, "rebuild_mib_s": rebuilt / MiB / rebuild,
            "scrub_read_mib": read / MiB, "scrub_cpu_s_per_gib": scrub_cpu / gib, "scrub_wall_s_per_gib": scrub_wall / gib}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.erasure", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 256 MiB transfer")
    ap.add_argument("--large-mib", type=int, help="size of the large transfer (default 1024)")
    ap.add_argument("--workdir", default="/var/tmp", help="where the data dirs, drives and test file go")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "erasure.json"))
    a, _ = ap.parse_known_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    large_mib = a.large_mib or (256 if a.quick else 1024)
    workdir = Path(a.workdir) / "s3d-bench-erasure"
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"source-{large_mib}M.bin"
    digest = make_source(src, large_mib * MiB)
    results: dict[str, Any] = {"codec": codec_figures()}
    plain = S3d("one-dir", workdir).start()
    try:
        results["one_dir"] = transfer(plain, src, digest, workdir)
    finally:
        plain.stop()
        plain.cleanup()
    pool = S3dPool("pool", workdir).start()
    try:
        results["pool"] = transfer(pool, src, digest, workdir)
        pool.stop()
        results["heal"] = heal_and_scrub(pool)
    finally:
        pool.stop()
        pool.cleanup()
        shutil.rmtree(workdir / "pool-drive0-new", ignore_errors=True)
    results["ratios"] = {k: results["pool"][k] / results["one_dir"][k] for k in results["one_dir"]}
    print(f"s3d erasure coding 4+2 over six directories vs one directory ({large_mib} MiB transfer)")
    for group in ("codec", "one_dir", "pool", "ratios", "heal"):
        print(f"{group}: " + ", ".join(f"{k}={v:.2f}" for k, v in results[group].items()))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"large_mib": large_mib, **results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
