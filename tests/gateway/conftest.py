from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for
from tests.support.admin import admin
from tests.support.remotes import RemoteServer
from tests.support.server import S3dProcess


@dataclass
class Gateway:
    s3d: S3dProcess
    remote: RemoteServer

    def client(self):  # type: ignore[no-untyped-def]
        return client_for(self.s3d.endpoint, self.s3d.access_key, self.s3d.secret_key)

    def admin(self, method: str, path: str, timeout: float = 120) -> tuple[int, Any]:
        return admin(self.s3d.endpoint, self.s3d.access_key, self.s3d.secret_key, method, path, timeout)

    def status(self) -> dict[str, Any]:
        code, body = self.admin("GET", "/_s3d/status")
        assert code == 200, body
        return body  # type: ignore[no-any-return]

    def flush(self, timeout: float = 60) -> dict[str, Any]:
        code, body = self.admin("POST", f"/_s3d/flush?timeout={timeout}", timeout=timeout + 30)
        assert code == 200, body
        return body  # type: ignore[no-any-return]


def start_gateway(tmp_path: Path, remote: RemoteServer, *args: str, port: int = 0) -> S3dProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return S3dProcess(
        tmp_path / "data", port=port, workers=2, env_extra=remote.env(),
        args=["--remote", remote.url, "--drain-timeout", "20", *args],
    ).start()  # fmt: skip


@contextmanager
def own_gateway(tmp_path: Path, *args: str, kind: str = "rclone") -> Iterator[Gateway]:
    """A remote server and an s3d in front of it (with extra `s3d run` flags), both stopped after."""
    remote = RemoteServer(kind, tmp_path / f"{kind}-root").start()
    try:
        gw = Gateway(start_gateway(tmp_path, remote, *args), remote)
        try:
            yield gw
        finally:
            gw.s3d.stop()
    finally:
        remote.stop()


def _gateway(kind: str, tmp_path: Path) -> Iterator[Gateway]:
    with own_gateway(tmp_path, kind=kind) as gw:
        yield gw


@pytest.fixture
def rclone_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """s3d in front of `rclone serve s3` (on disk: outages, restarts)."""
    yield from _gateway("rclone", tmp_path)


@pytest.fixture
def moto_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """s3d in front of moto's server (fidelity: tags, multipart ETags)."""
    yield from _gateway("moto", tmp_path)
