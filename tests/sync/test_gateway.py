"""Gateway mode: the folder's files ship to the remote like any S3 write, and objects that appear on
the remote reach the folder once refresh sees them (a real remote: rclone serve s3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.conftest import Gateway, own_gateway
from tests.sync.conftest import PROPAGATION, SETTLE, remove, wait_until, write_file

BUCKET = "gw-sync"
REFRESH_SECONDS = "1"


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[tuple[Gateway, Path]]:
    folder = tmp_path / "folder"
    folder.mkdir()
    with own_gateway(tmp_path, "--sync", f"{folder}={BUCKET}") as g:
        yield g, folder


def remote_get(g: Gateway, key: str) -> bytes | None:
    rc = g.remote.client()
    try:
        return bytes(rc.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except (rc.exceptions.NoSuchKey, rc.exceptions.NoSuchBucket):
        return None


def test_a_file_ships_to_the_remote(gw: tuple[Gateway, Path]) -> None:
    g, folder = gw
    write_file(folder / "a.txt", b"to the remote")
    wait_until(lambda: remote_get(g, "a.txt") == b"to the remote", timeout=SETTLE, what="shipping")


def test_a_deleted_file_is_deleted_on_the_remote(gw: tuple[Gateway, Path]) -> None:
    g, folder = gw
    write_file(folder / "keep.txt", b"keep")
    write_file(folder / "gone.txt", b"gone")
    wait_until(lambda: remote_get(g, "gone.txt") == b"gone", timeout=SETTLE, what="shipping")
    remove(folder / "gone.txt")
    wait_until(lambda: remote_get(g, "gone.txt") is None, timeout=SETTLE, what="the shipped delete")
    assert remote_get(g, "keep.txt") == b"keep"


@pytest.fixture
def refreshing(tmp_path: Path) -> Iterator[tuple[Gateway, Path]]:
    folder = tmp_path / "folder"
    folder.mkdir()
    with own_gateway(tmp_path, "--sync", f"{folder}={BUCKET}") as g:
        g.s3d.stop()
        g.s3d.env_extra["S3D_REMOTE_REFRESH"] = REFRESH_SECONDS
        g.s3d.start()
        yield g, folder


def test_an_object_put_on_the_remote_reaches_the_folder(refreshing: tuple[Gateway, Path]) -> None:
    g, folder = refreshing
    wait_until(lambda: BUCKET in [b["Name"] for b in g.remote.client().list_buckets()["Buckets"]], timeout=SETTLE,
               what="the bucket on the remote")  # fmt: skip
    g.remote.client().put_object(Bucket=BUCKET, Key="from/remote.txt", Body=b"written on the remote")
    path = folder / "from/remote.txt"
    wait_until(lambda: path.exists() and path.read_bytes() == b"written on the remote",
               timeout=float(REFRESH_SECONDS) * 3 + PROPAGATION, what="the download")  # fmt: skip
