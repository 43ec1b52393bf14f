"""`[[mount]]` entries: local_read is on unless turned off, and only true or false is taken."""

from __future__ import annotations

import pytest

from s3d.config import Settings
from s3d.mount.daemon import command
from s3d.mount.settings import MountConfigError, from_toml

ENTRY = {"source": "photos", "mountpoint": "/mnt/photos"}


def test_local_read_is_on_by_default() -> None:
    assert from_toml(0, ENTRY).local_read is True


def test_local_read_false_is_passed_to_the_mount_process() -> None:
    m = from_toml(0, {**ENTRY, "local_read": False})
    assert "--no-local-read" in command(Settings(), m)


def test_local_read_must_be_a_boolean() -> None:
    with pytest.raises(MountConfigError, match="local_read must be true or false"):
        from_toml(0, {**ENTRY, "local_read": "no"})
