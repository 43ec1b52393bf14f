"""A real daemon keeping real folders in sync; files written by other processes; S3 through boto3."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for
from tests.support.admin import admin
from tests.support.server import S3dProcess

PROPAGATION = 2.0  # what a user is promised: a change reaches the other side within this many seconds
SETTLE = 30.0  # bound for bigger jobs (initial syncs, restarts)
MARKER = ".s3d-sync"


def wait_until(check: Callable[[], bool], timeout: float = PROPAGATION, what: str = "condition") -> float:
    """Seconds it took for ``check`` to hold; fails the test if it does not within ``timeout``."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


def write_file(path: Path, data: bytes) -> None:
    """Write a file from another process (as an application would)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sh", "-c", 'cat > "$0"', str(path)], input=data, check=True)


def remove(*paths: Path) -> None:
    """One `rm` for all of them: one burst of folder events, as a user's `rm a b c` gives."""
    subprocess.run(["rm", "-rf", *map(str, paths)], check=True)


def rename(src: Path, dst: Path) -> None:
    subprocess.run(["mv", str(src), str(dst)], check=True)


@dataclass
class Synced:
    """A daemon with one folder kept in sync with one bucket (under ``prefix``)."""

    tmp: Path
    folder: Path
    bucket: str
    prefix: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: S3dProcess | None = None
    pair_prefix: str | None = None  # the pair's own prefix, when this is a view of a subdirectory
    via_flag: bool = True  # configure the pair with --sync (else the test's args or env configure it)

    def view(self, sub: str) -> Synced:
        """The same daemon, seen through a subdirectory of the folder (tests sharing one daemon)."""
        (self.folder / sub).mkdir()
        v = Synced(self.tmp, self.folder / sub, self.bucket, f"{self.prefix}{sub}/", self.args, self.env, self.proc,
                   via_flag=self.via_flag)  # fmt: skip
        v.pair_prefix = self.pair_prefix
        return v

    def start(self) -> Synced:
        if self.pair_prefix is None:
            self.pair_prefix = self.prefix
        target = f"{self.bucket}/{self.pair_prefix}".rstrip("/")
        args = ["--sync", f"{self.folder}={target}", *self.args] if self.via_flag else self.args
        port = self.proc.port if self.proc else 0
        self.proc = S3dProcess(self.tmp / "data", port=port, workers=2, args=args, env_extra=self.env).start()
        return self

    @property
    def s3(self) -> Any:
        assert self.proc is not None
        return client_for(self.proc.endpoint, self.proc.access_key, self.proc.secret_key)

    def key(self, path: str) -> str:
        return self.prefix + path

    def get(self, path: str) -> bytes | None:
        try:
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=self.key(path))["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None

    def keys(self) -> list[str]:
        out: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            out.extend(o["Key"][len(self.prefix) :] for o in page.get("Contents", []))
        return sorted(k for k in out if k)  # a view's own directory may have a marker object

    def file_keys(self) -> list[str]:
        """The keys, directory markers aside."""
        return [k for k in self.keys() if not k.endswith("/")]

    def files(self) -> dict[str, bytes]:
        """Every file in the folder under its own name (the sync's marker and temporary files aside)."""
        out = {}
        for p in self.folder.rglob("*"):
            if p.is_file() and not p.name.startswith(MARKER):  # the marker, unfinished downloads
                out[p.relative_to(self.folder).as_posix()] = p.read_bytes()
        return out

    def put(self, path: str, data: bytes, **extra: Any) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self.key(path), Body=data, **extra)

    def delete(self, path: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(path))

    def status(self) -> dict[str, Any]:
        """The pair's status (waiting for the first run after a start to publish it)."""
        assert self.proc is not None
        deadline = time.monotonic() + SETTLE
        while True:
            code, body = admin(self.proc.endpoint, self.proc.access_key, self.proc.secret_key, "GET", "/_s3d/sync")
            assert code == 200, body
            pairs: list[dict[str, Any]] = body["pairs"]
            if pairs or time.monotonic() > deadline:
                assert len(pairs) == 1, body
                return pairs[0]
            time.sleep(0.02)

    def log(self) -> str:
        assert self.proc is not None
        return (self.tmp / f"s3d-{self.proc.port}.log").read_text()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.proc is not None
        env = {**os.environ, "S3D_ACCESS_KEY": self.proc.access_key, "S3D_SECRET_KEY": self.proc.secret_key}
        return subprocess.run([sys.executable, "-m", "s3d", *args, "--endpoint", self.proc.endpoint],
                              env=env, capture_output=True, text=True, timeout=60)  # fmt: skip

    def pause(self) -> None:
        """Take the folder's marker away: the pair stops (changes made now meet at resume)."""
        (self.folder / MARKER).rename(self.tmp / "marker-aside")
        wait_until(lambda: self.status()["paused"], what="the pair pausing")

    def resume(self) -> None:
        (self.tmp / "marker-aside").rename(self.folder / MARKER)

    def settled(self) -> bool:
        s = self.status()
        return bool(s["healthy"] and not s["pending_up"] and not s["pending_down"])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def start_synced(tmp_path: Path, *args: str, prefix: str = "", via_flag: bool = True) -> Synced:
    """A running daemon syncing an empty folder with a new bucket (created at start)."""
    folder = tmp_path / "folder"
    folder.mkdir()
    s = Synced(tmp_path, folder, "sync-bucket", prefix, list(args), via_flag=via_flag).start()
    wait_until(lambda: (folder / MARKER).exists(), what="the marker")
    return s


@pytest.fixture
def own_synced(tmp_path: Path) -> Iterator[Synced]:
    """A daemon of the test's own (for tests that pause, stop or kill it)."""
    s = start_synced(tmp_path)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def shared_synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    s = start_synced(tmp_path_factory.mktemp("sync"))
    yield s
    s.stop()


_views = itertools.count()


@pytest.fixture
def synced(shared_synced: Synced) -> Synced:
    """A subdirectory of its own in a folder synced by a daemon shared by the module's tests."""
    return shared_synced.view(f"t{next(_views)}")


def read_json(text: str) -> Any:
    return json.loads(text)
