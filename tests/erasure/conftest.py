from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_for
from tests.support.server import S3dProcess

K, M, N = 4, 2, 6


def drive_dirs(tmp_path: Path, n: int = N) -> list[Path]:
    return [tmp_path / f"drive{i}" for i in range(n)]


def pool_args(drives: list[Path], spec: str = f"{K}+{M}") -> list[str]:
    return ["--drives", ",".join(str(d) for d in drives), "--erasure", spec]


@pytest.fixture
def drives(tmp_path: Path) -> list[Path]:
    return drive_dirs(tmp_path)


@pytest.fixture
def pool_server(tmp_path: Path, drives: list[Path]) -> Iterator[S3dProcess]:
    """A daemon of the test's own on a 4+2 pool over six directories."""
    proc = S3dProcess(tmp_path / "data", workers=1, args=pool_args(drives)).start()
    yield proc
    proc.stop()


@pytest.fixture
def pool_s3(pool_server: S3dProcess):  # type: ignore[no-untyped-def]
    return client_for(pool_server.endpoint, pool_server.access_key, pool_server.secret_key)
