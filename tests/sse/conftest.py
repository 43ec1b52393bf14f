"""A daemon with a KMS keyring, for the encryption tests."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_for
from tests.support.server import S3dProcess

KMS_KEY = "alias/app"
KMS_KEYS = f"{KMS_KEY}={base64.b64encode(bytes(range(32))).decode()}"


def customer(seed: int = 1) -> dict[str, str]:
    """boto3's SSE-C parameters for a key of our own (boto3 base64-encodes it and adds the MD5)."""
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": bytes([seed]) * 32}  # type: ignore[dict-item]


def customer_headers(key: bytes, prefix: str = "x-amz-server-side-encryption-customer-") -> dict[str, str]:
    return {
        prefix + "algorithm": "AES256",
        prefix + "key": base64.b64encode(key).decode(),
        prefix + "key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


@pytest.fixture(scope="module")
def sse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    data = tmp_path_factory.mktemp("sse") / "data"
    proc = S3dProcess(data, workers=2, env_extra={"S3D_KMS_KEYS": KMS_KEYS}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def s3e(sse_server: S3dProcess):  # type: ignore[no-untyped-def]
    return client_for(sse_server.endpoint, sse_server.access_key, sse_server.secret_key)


@pytest.fixture
def ebucket(s3e) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = f"sse-{uuid.uuid4().hex[:12]}"
    s3e.create_bucket(Bucket=name)
    yield name
    for page in s3e.get_paginator("list_objects_v2").paginate(Bucket=name):
        for o in page.get("Contents", []):
            s3e.delete_object(Bucket=name, Key=o["Key"])
    s3e.delete_bucket(Bucket=name)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def data_files(root: Path) -> Iterator[Path]:
    for p in root.rglob("*"):
        if p.is_file():
            yield p


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
