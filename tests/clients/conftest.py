"""Fixtures for the real-client matrix: each client configured for the session's daemon, isolated per test."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.support.clients import AwsCli, Rclone
from tests.support.server import S3dProcess


@pytest.fixture
def aws(server: S3dProcess, tmp_path: Path) -> AwsCli:
    return AwsCli(server, tmp_path / "aws-home")


@pytest.fixture
def rclone(server: S3dProcess, tmp_path: Path) -> Rclone:
    return Rclone(server, tmp_path / "rclone-home")


@pytest.fixture
def new_bucket_name(s3):  # type: ignore[no-untyped-def]
    """A bucket name nobody has created yet; the bucket is removed afterwards if the test left it behind."""
    name = f"cli-{os.getpid()}-{uuid.uuid4().hex[:10]}"
    yield name
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for o in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=o["Key"])
        s3.delete_bucket(Bucket=name)
    except s3.exceptions.NoSuchBucket:
        pass
    except Exception as e:  # noqa: BLE001 - cleanup must not hide the test's own result
        if "NoSuchBucket" not in str(e):
            raise
