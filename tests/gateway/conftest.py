from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for
from tests.support.admin import admin
from tests.support.remotes import MOTO, RCLONE, Remote, RemoteServer
from tests.support.server import S3dProcess


@dataclass
class Gateway:
    s3d: S3dProcess
    remote: Remote

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


def start_gateway(
    tmp_path: Path, remote: Remote, *args: str, port: int = 0, env: dict[str, str] | None = None
) -> S3dProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return S3dProcess(
        tmp_path / "data", port=port, workers=2, env_extra={**remote.env(), **(env or {})},
        args=["--remote", remote.url, "--drain-timeout", "20", *args],
    ).start()  # fmt: skip


@contextmanager
def gateway_on(tmp_path: Path, remote: Remote, *args: str, env: dict[str, str] | None = None) -> Iterator[Gateway]:
    """An s3d in front of a running remote (with extra `s3d run` flags and environment), stopped after."""
    gw = Gateway(start_gateway(tmp_path, remote, *args, env=env), remote)
    try:
        yield gw
    finally:
        gw.s3d.stop()


@contextmanager
def own_gateway(tmp_path: Path, *args: str, kind: str = RCLONE) -> Iterator[Gateway]:
    """A remote server and an s3d in front of it (with extra `s3d run` flags), both stopped after."""
    remote = RemoteServer(kind, tmp_path / f"{kind}-root").start()
    try:
        with gateway_on(tmp_path, remote, *args) as gw:
            yield gw
    finally:
        remote.stop()


def _gateway(kind: str, tmp_path: Path) -> Iterator[Gateway]:
    with own_gateway(tmp_path, kind=kind) as gw:
        yield gw


@pytest.fixture
def gateway(remote_server: Remote, tmp_path: Path) -> Iterator[Gateway]:
    """s3d in front of the test's remote server (rclone unless the test is marked with on_remotes)."""
    with gateway_on(tmp_path, remote_server) as gw:
        yield gw


@pytest.fixture
def rclone_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """s3d in front of `rclone serve s3` (on disk: outages, restarts)."""
    yield from _gateway(RCLONE, tmp_path)


@pytest.fixture
def moto_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """s3d in front of moto's server (fidelity: tags, multipart ETags)."""
    yield from _gateway(MOTO, tmp_path)
