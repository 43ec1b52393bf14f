"""Gateway settings read from the environment."""

from __future__ import annotations

import pytest

from s3d.gateway import config
from s3d.remote.botocore_remote import ConfigError

REMOTE = {"remote": "http://127.0.0.1:9100"}


def test_remote_read_timeout_comes_from_the_environment() -> None:
    g = config.load(REMOTE, {"S3D_REMOTE_READ_TIMEOUT": "2.5"})
    assert g is not None and g.remote.read_timeout == 2.5


def test_zero_remote_read_timeout_is_refused() -> None:
    with pytest.raises(ConfigError, match="read timeout must be more than 0"):
        config.load(REMOTE, {"S3D_REMOTE_READ_TIMEOUT": "0"})
