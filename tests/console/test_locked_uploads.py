"""Uploads from the console into a bucket with a default object-lock retention: S3 refuses a PutObject there
without Content-MD5 or an x-amz-checksum-* header, so the browser sends the file's SHA-256 (per part for a
multipart upload), and the daemon keeps it as the object's checksum. Without crypto.subtle the console sends no
checksum and shows the daemon's refusal."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for
from tests.console.conftest import ALICE, sign_in
from tests.support.server import S3dProcess

PART = 8 * 1024 * 1024  # the console's part size
SMALL = 100 * 1024  # one PutObject
BIG = 2 * PART + 1024  # three parts
FINISHED = re.compile(r"^(done|failed)")  # an upload row's state once it is over
NO_SUBTLE = "Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined });"


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@pytest.fixture
def locked(console_server: S3dProcess) -> Iterator[tuple[Any, str]]:
    """A bucket of alice's with object lock and a default retention of one day (GOVERNANCE, so it can go again)."""
    s3 = client_for(console_server.endpoint, ALICE[0], ALICE[1])
    name = f"locked-{os.getpid()}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    yield s3, name
    for v in s3.list_object_versions(Bucket=name).get("Versions", []):
        s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
    for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=name)


def upload(page: Any, endpoint: str, bucket: str, src: Path) -> Any:
    """Upload one file from the bucket's root; the row of its upload, once it is done or failed."""
    sign_in(page, endpoint, ALICE[0], ALICE[1])
    page.goto(endpoint + f"/_s3d/console/#/browse/{bucket}/")
    page.get_by_role("heading", name=bucket, exact=True).wait_for()
    page.set_input_files("#upload-files", str(src))
    row = page.locator(f'li[data-key="{src.name}"]')
    row.locator(".state", has_text=FINISHED).wait_for(timeout=60_000)
    return row


def uploaded(endpoint: str, context: Any, locked: tuple[Any, str], src: Path, size: int) -> tuple[bytes, Any]:
    """Upload ``size`` random bytes as ``src``'s name; its bytes and its HeadObject (with the checksum)."""
    s3, bucket = locked
    data = os.urandom(size)
    src.write_bytes(data)
    row = upload(context.new_page(), endpoint, bucket, src)
    assert row.locator(".state").inner_text() == "done"
    head = s3.head_object(Bucket=bucket, Key=src.name, ChecksumMode="ENABLED")
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ContentLength"] == size
    return data, head


def test_an_upload_carries_the_files_sha256(
    console_server: S3dProcess, context: Any, locked: tuple[Any, str], tmp_path: Path
) -> None:
    data, head = uploaded(console_server.endpoint, context, locked, tmp_path / "small.bin", SMALL)
    assert head["ChecksumSHA256"] == b64(hashlib.sha256(data).digest())


def test_a_multipart_upload_carries_each_parts_sha256(
    console_server: S3dProcess, context: Any, locked: tuple[Any, str], tmp_path: Path
) -> None:
    data, head = uploaded(console_server.endpoint, context, locked, tmp_path / "big.bin", BIG)
    parts = [hashlib.sha256(data[i : i + PART]).digest() for i in range(0, BIG, PART)]
    assert head["ChecksumSHA256"] == f"{b64(hashlib.sha256(b''.join(parts)).digest())}-3"


def test_without_crypto_subtle_the_daemons_refusal_is_shown(
    console_server: S3dProcess, context: Any, locked: tuple[Any, str], tmp_path: Path
) -> None:
    s3, bucket = locked
    src = tmp_path / "plain.bin"
    src.write_bytes(os.urandom(SMALL))
    page = context.new_page()
    page.add_init_script(NO_SUBTLE)
    row = upload(page, console_server.endpoint, bucket, src)
    state = row.locator(".state").inner_text()
    assert state.startswith("failed: InvalidRequest: Content-MD5 OR x-amz-checksum- HTTP header is required"), state
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
