from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.remotes import RemoteServer


@pytest.fixture(params=["rclone", "moto"])
def remote_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RemoteServer]:
    srv = RemoteServer(request.param, tmp_path / f"{request.param}-root").start()
    yield srv
    srv.stop()
