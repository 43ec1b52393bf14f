from __future__ import annotations

from tests.gateway.conftest import rclone_gateway  # noqa: F401 - the gateway tests' fixture, reused here
