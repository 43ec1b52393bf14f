"""A daemon with two configured users (alice and bob) besides the test's own, and clients for each."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from tests.conftest import client_for
from tests.support.server import S3dProcess

ALICE = ("AKALICE0000000000001", "alice-secret-0123456789")
BOB = ("AKBOB00000000000000002", "bob-secret-0123456789")
ACCOUNT = "123456789012"
CONFIG = f"""
[[users]]
name = "alice"
access_key = "{ALICE[0]}"
secret_key = "{ALICE[1]}"
[[users]]
name = "bob"
access_key = "{BOB[0]}"
secret_key = "{BOB[1]}"
"""
_names = itertools.count()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    root = tmp_path_factory.mktemp("access")
    config = root / "s3d.toml"
    config.write_text(CONFIG)
    proc = S3dProcess(root / "data", workers=1, env_extra={"S3D_CONFIG": str(config)}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def alice(daemon: S3dProcess) -> Any:
    return client_for(daemon.endpoint, *ALICE)


@pytest.fixture(scope="module")
def bob(daemon: S3dProcess) -> Any:
    return client_for(daemon.endpoint, *BOB)


@pytest.fixture(scope="module")
def anon(daemon: S3dProcess) -> Any:
    return boto3.client(
        "s3", endpoint_url=daemon.endpoint, region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )  # fmt: skip


@pytest.fixture
def abucket(alice: Any) -> Iterator[str]:
    """A fresh bucket of alice's; emptied and removed afterwards."""
    name = f"acc-{os.getpid()}-{next(_names)}"
    alice.create_bucket(Bucket=name)
    yield name
    alice.delete_bucket_policy(Bucket=name)
    for o in alice.list_objects_v2(Bucket=name).get("Contents", []):
        alice.delete_object(Bucket=name, Key=o["Key"])
    alice.delete_bucket(Bucket=name)


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def policy(bucket: str, *statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


def deny(principal: Any, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource, **extra}


def arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def code(call: Any, *args: Any, **kw: Any) -> str:
    """The S3 error code a client call ends with, or "ok"."""
    from botocore.exceptions import ClientError

    try:
        call(*args, **kw)
    except ClientError as e:
        return str(e.response["Error"]["Code"])
    return "ok"


def data_dir(daemon: S3dProcess) -> Path:
    return daemon.data
