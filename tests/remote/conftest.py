from __future__ import annotations

import pytest

from tests.support.remotes import MOTO, RCLONE, RGW


@pytest.fixture(params=[RCLONE, MOTO, RGW])
def remote_kind(request: pytest.FixtureRequest) -> str:
    """The Remote seam runs against every kind of remote server (the remote_server fixture)."""
    return request.param  # type: ignore[no-any-return]
