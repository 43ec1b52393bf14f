"""Real kernel mounts (FUSE) of a real daemon's bucket, driven by real tools; skipped where /dev/fuse is absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mounts import Mount, require_fuse
from tests.support.server import S3dProcess


@pytest.fixture
def mount(server: S3dProcess, bucket: str, tmp_path: Path) -> Iterator[Mount]:
    """The test's bucket mounted at tmp_path/mnt (default settings), unmounted afterwards."""
    require_fuse()
    m = Mount(server, bucket, tmp_path / "mnt").start()
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture
def mnt(mount: Mount) -> Path:
    return mount.path
