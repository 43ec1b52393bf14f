"""A pool's drives serve one daemon: a second one given the same drives with another data dir is refused
before it reads or writes any of them, and the running daemon's writes in flight and metadata mirrors are
left as they were; `s3d drive replace` is refused on them too."""

from __future__ import annotations

import http.client
import random
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.erasure.conftest import M, pool_args, wait_for
from tests.erasure.test_drives import PROBE_FILE
from tests.erasure.test_metadata import dump
from tests.support.server import S3dProcess

BUCKET = "shared"
OBJECT_SIZE = (2 << 20) + 333  # more than one stripe: shards on every drive
REFUSAL_WAIT = 20.0  # seconds the second daemon gets to give up (it waits 3 s for a lock)


def body(i: int) -> bytes:
    return random.Random(i).randbytes(OBJECT_SIZE)


def second_daemon(data: Path, drives: list[Path]) -> subprocess.CompletedProcess[str]:
    """`s3d run` on ``data`` with the same drives, until it gives up (killed if it is still running after
    REFUSAL_WAIT: it started)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3d", "run", "--data", str(data), "--listen", "127.0.0.1:0", "--workers", "1",
         *pool_args(drives)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=REFUSAL_WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_second_daemon_on_the_drives_of_a_running_one_is_refused(
    tmp_path: Path, pool_server: S3dProcess, drives: list[Path]
) -> None:
    other = tmp_path / "other-data"
    out = second_daemon(other, drives)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"s3d: drive {drives[0]} is in use by another s3d process"]
    assert not (other / "meta.db").exists()  # it did not take the running daemon's mirror for its own


def test_a_write_in_flight_survives_a_second_daemon_on_the_drives(pool_s3, tmp_path: Path, drives: list[Path]) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    data = body(0)
    url = urlsplit(pool_s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "in-flight"}))
    conn = http.client.HTTPConnection(url.netloc)
    try:
        conn.putrequest("PUT", f"{url.path}?{url.query}")
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        half = len(data) // 2
        conn.send(data[:half])

        def shards_being_written() -> bool:
            return all(any(p.name != PROBE_FILE for p in (d / "tmp").iterdir()) for d in drives)

        wait_for(shards_being_written, "the write's tmp shards on every drive")
        second_daemon(tmp_path / "other-data", drives)
        conn.send(data[half:])
        answer = conn.getresponse()
        assert answer.status == 200, answer.read()
    finally:
        conn.close()
    assert pool_s3.get_object(Bucket=BUCKET, Key="in-flight")["Body"].read() == data


def test_mirrors_keep_receiving_writes_after_a_second_daemon_on_the_drives(  # type: ignore[no-untyped-def]
    pool_s3, pool_server: S3dProcess, tmp_path: Path, drives: list[Path]
) -> None:
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_object(Bucket=BUCKET, Key="before", Body=body(0))
    second_daemon(tmp_path / "other-data", drives)
    pool_s3.put_object(Bucket=BUCKET, Key="after", Body=body(1))
    primary = dump(pool_server.data / "meta.db")
    for d in drives[:M]:
        assert dump(d / "meta" / "meta.db") == primary


def test_drive_replace_is_refused_on_the_drives_of_a_running_daemon(
    tmp_path: Path, pool_server: S3dProcess, drives: list[Path]
) -> None:
    new = tmp_path / "new-drive"
    out = subprocess.run(
        [sys.executable, "-m", "s3d", "drive", "replace", str(drives[-1]), str(new),
         "--data", str(tmp_path / "other-data"), *pool_args(drives)],
        capture_output=True, text=True, timeout=REFUSAL_WAIT,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"s3d: drive {drives[0]} is in use by another s3d process"]
    assert not (new / "pool-id").exists()  # not claimed for the pool
