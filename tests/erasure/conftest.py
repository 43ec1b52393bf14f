from __future__ import annotations

import json
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import client_for
from tests.support.server import S3dProcess

K, M, N = 4, 2, 6
SHARD_INDEX_AT = 12  # byte offset of the shard index in a shard file's header (store/erasure/shard.py)
HEADER_SIZE = 64
RECORD_HEAD = 8
WAIT = 20.0  # seconds a test waits for the healer, at most


def pool_args(drives: list[Path], spec: str = f"{K}+{M}") -> list[str]:
    return ["--drives", ",".join(str(d) for d in drives), "--erasure", spec]


def shards(drives: list[Path]) -> dict[int, Path]:
    """The shard files under the drives, by shard index (the test holds one blob at a time)."""
    out: dict[int, Path] = {}
    for d in drives:
        for p in (d / "blobs").rglob("*"):
            if p.is_file():
                out[struct.unpack_from("<B", p.read_bytes(), SHARD_INDEX_AT)[0]] = p
    return out


def drive_of(drives: list[Path], shard: Path) -> Path:
    return next(d for d in drives if d in shard.parents)


def wipe(drive: Path) -> None:
    """A drive's contents gone (a disk swapped for an empty one): the directory stays, empty."""
    for child in drive.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


def flip_bit(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ 0x10]))


def pool_status(data: Path) -> dict:  # type: ignore[type-arg]
    try:
        return json.loads((data / "pool-status.json").read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


def wait_for(cond: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def drives(tmp_path: Path) -> list[Path]:
    return [tmp_path / f"drive{i}" for i in range(N)]


@pytest.fixture
def pool_server(tmp_path: Path, drives: list[Path]) -> Iterator[S3dProcess]:
    """A daemon of the test's own on a 4+2 pool over six directories."""
    proc = S3dProcess(tmp_path / "data", workers=1, args=pool_args(drives)).start()
    yield proc
    proc.stop()


@pytest.fixture
def pool_s3(pool_server: S3dProcess):  # type: ignore[no-untyped-def]
    return client_for(pool_server.endpoint, pool_server.access_key, pool_server.secret_key)
