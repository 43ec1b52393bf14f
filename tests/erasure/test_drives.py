"""The pool's drives: one failing while the daemon runs, kill -9 mid-write, a drive replaced, scrub, settings."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.erasure.conftest import (
    HEADER_SIZE,
    RECORD_HEAD,
    K,
    M,
    drive_of,
    flip_bit,
    pool_args,
    pool_status,
    shards,
    wait_for,
    wipe,
)
from tests.observe.scrape import scrape, value
from tests.support.server import S3dProcess

BUCKET = "drives"
PROBE_FILE = "probe"  # the file a drive probe writes and removes in DRIVE/tmp
WRITES = 40  # objects the kill -9 test tries to write, at most


def s3d(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "s3d", *args], capture_output=True, text=True, timeout=timeout)


def body(i: int, size: int = (1 << 20) + 777) -> bytes:
    return random.Random(i).randbytes(size)


BREAK_ATTEMPTS = 50


def break_drive(drive: Path) -> None:
    """The drive starts failing: its tmp/ can no longer hold files (ENOTDIR on every new shard)."""
    for _ in range(BREAK_ATTEMPTS):  # the running daemon may make tmp/ again between the two steps
        shutil.rmtree(drive / "tmp", ignore_errors=True)
        try:
            (drive / "tmp").write_bytes(b"not a directory")
            return
        except IsADirectoryError:
            continue
    raise AssertionError(f"{drive}/tmp kept coming back as a directory")


def test_failing_drive_taken_out_writes_go_on(pool_s3, pool_server: S3dProcess, drives: list[Path]) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    break_drive(drives[2])
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=body(1))
    assert pool_s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == body(1)
    placed = shards(drives)
    assert len(placed) == K + M - 1
    assert all(drive_of(drives, p) != drives[2] for p in placed.values())
    wait_for(lambda: pool_status(pool_server.data).get("degraded") is True, "the status to say degraded")
    out = s3d("drives", "--data", str(pool_server.data), "--json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["drives"][2]["state"] != "ok"
    assert [d["state"] for i, d in enumerate(doc["drives"]) if i != 2] == ["ok"] * 5
    samples = scrape(pool_server.endpoint)
    assert value(samples, "s3d_pool_drives_in_service") == 5
    assert value(samples, "s3d_pool_degraded") == 1


def test_too_few_drives_refuses_writes(pool_s3, drives: list[Path]) -> None:  # type: ignore[no-untyped-def]
    """Writes need K+1 drives in service: with two failing (4+2), a PUT is refused and nothing of it stays."""
    pool_s3.create_bucket(Bucket=BUCKET)
    break_drive(drives[0])
    break_drive(drives[1])
    with pytest.raises(ClientError) as e:
        pool_s3.put_object(Bucket=BUCKET, Key="k", Body=body(2))
    assert e.value.response["Error"]["Code"] == "InsufficientStorage"
    assert shards(drives) == {}
    assert pool_s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_kill9_while_writing_with_a_failing_drive_nothing_torn(tmp_path: Path, drives: list[Path]) -> None:
    proc = S3dProcess(tmp_path / "data", workers=1, args=pool_args(drives)).start()
    s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
    s3.create_bucket(Bucket=BUCKET)
    break_drive(drives[4])
    acked: list[int] = []
    started = threading.Event()

    def writer() -> None:
        for i in range(WRITES):
            try:
                s3.put_object(Bucket=BUCKET, Key=f"k{i}", Body=body(i, 3 << 20))
            except Exception:  # noqa: BLE001 - the daemon is killed under it
                return
            acked.append(i)
            started.set()

    t = threading.Thread(target=writer)
    t.start()
    assert started.wait(60)
    proc.kill9()
    t.join(60)
    proc = S3dProcess(tmp_path / "data", workers=1, args=pool_args(drives)).start()
    try:
        s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        assert {f"k{i}" for i in acked} <= set(keys)  # every acknowledged write is there
        for key in keys:
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body(int(key[1:]), 3 << 20)
        for d in drives:
            tmp = d / "tmp"
            # the healer's drive probe comes and goes there; no shard being written may be left
            assert not tmp.is_dir() or [p.name for p in tmp.iterdir() if p.name != PROBE_FILE] == []
        on_drives = {p.name for d in drives for p in (d / "blobs").rglob("*") if p.is_file()}
        assert len(on_drives) == len(keys)  # no orphan shard of a write the kill cut short
    finally:
        proc.stop()


def test_drive_replace_rebuilds_onto_the_new_drive(tmp_path: Path, drives: list[Path]) -> None:
    data = tmp_path / "data"
    proc = S3dProcess(data, workers=1, args=pool_args(drives)).start()
    s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
    s3.create_bucket(Bucket=BUCKET)
    for i in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"k{i}", Body=body(i))
    proc.stop()
    shutil.rmtree(drives[3])  # the disk died
    new = tmp_path / "new-drive"
    pool = ["--drives", ",".join(map(str, drives)), "--erasure", f"{K}+{M}"]
    out = s3d("drive", "replace", str(drives[3]), str(new), "--data", str(data), *pool)
    assert out.returncode == 0, out.stderr
    assert "rebuilt 3 shards" in out.stdout
    replaced = [new if d == drives[3] else d for d in drives]
    wipe(replaced[0])
    wipe(replaced[1])  # M more losses: the rebuilt drive must carry its share
    proc = S3dProcess(data, workers=1, args=pool_args(replaced)).start()
    try:
        s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
        for i in range(3):
            assert s3.get_object(Bucket=BUCKET, Key=f"k{i}")["Body"].read() == body(i)
    finally:
        proc.stop()


def test_scrub_now_finds_and_heals_a_damaged_parity_shard(  # type: ignore[no-untyped-def]
    pool_s3, pool_server: S3dProcess, drives: list[Path]
) -> None:
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="k", Body=body(3))
    parity = shards(drives)[K]  # never read by a GET while the data shards are whole
    original = parity.read_bytes()
    flip_bit(parity, HEADER_SIZE + RECORD_HEAD + 5)
    wait_for(lambda: bool(pool_status(pool_server.data)), "the first status")
    out = s3d("scrub", "--now", "--data", str(pool_server.data))
    assert out.returncode == 0, out.stderr
    assert parity.read_bytes() == original
    heal = pool_status(pool_server.data)["heal"]
    assert (heal["damaged_shards"], heal["healed_shards"]) == (1, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--erasure", "4+2"], "needs both drives"),
        (["--drives", "a,b,c", "--erasure", "4+2"], "needs at least 6 drives"),
        (["--drives", "a,b,c", "--erasure", "two"], "must be K+M"),
    ],
)
def test_pool_settings_refused(tmp_path: Path, args: list[str], message: str) -> None:
    out = s3d("run", "--data", str(tmp_path / "data"), *args)
    assert out.returncode == 2
    assert message in out.stderr


def test_a_pool_run_with_other_drives_or_shape_is_refused(tmp_path: Path, drives: list[Path]) -> None:
    data = tmp_path / "data"
    proc = S3dProcess(data, workers=1, args=pool_args(drives)).start()
    client_for(proc.endpoint, proc.access_key, proc.secret_key).create_bucket(Bucket=BUCKET)
    proc.stop()
    swapped = [drives[1], drives[0], *drives[2:]]
    for args, message in (
        (pool_args(swapped), "give the drives in their order"),
        (pool_args(drives, "3+3"), "holds a pool of 4+2"),
        ([], "holds an erasure-coded pool"),
    ):
        out = s3d("run", "--data", str(data), "--listen", "127.0.0.1:0", *args)
        assert out.returncode == 2, out.stderr
        assert message in out.stderr
