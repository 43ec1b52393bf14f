"""GET and HEAD name the blob files of an object to a client beside the daemon that asks (s3d.local_read), and
only for bytes that are plain files there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from s3d import local_read
from s3d.s3.local_spans import is_loopback

MIB = 1024 * 1024


@pytest.fixture
def asking(s3) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The test's client, sending the header with every HeadObject while the test runs."""

    def ask(request: Any, **_: Any) -> None:
        request.headers[local_read.HEADER] = local_read.ASK

    s3.meta.events.register("before-sign.s3.HeadObject", ask, unique_id="ask-local")
    try:
        yield s3
    finally:
        s3.meta.events.unregister("before-sign.s3.HeadObject", unique_id="ask-local")


def named(head: dict[str, Any]) -> tuple[local_read.LocalSpan, ...] | None:
    value = head["ResponseMetadata"]["HTTPHeaders"].get(local_read.HEADER)
    return None if value is None else local_read.decode(value)


def test_a_blob_object_is_named_as_its_file(asking: Any, bucket: str) -> None:
    data = os.urandom(MIB)
    asking.put_object(Bucket=bucket, Key="blob.bin", Body=data)
    spans = named(asking.head_object(Bucket=bucket, Key="blob.bin"))
    assert spans is not None and len(spans) == 1
    with open(spans[0].path, "rb") as f:
        assert f.read() == data


def test_an_inline_object_is_not_named(asking: Any, bucket: str) -> None:
    asking.put_object(Bucket=bucket, Key="small.txt", Body=b"inline")
    assert named(asking.head_object(Bucket=bucket, Key="small.txt")) is None


def test_an_encrypted_object_is_not_named(asking: Any, bucket: str) -> None:
    asking.put_object(Bucket=bucket, Key="sealed.bin", Body=os.urandom(MIB), ServerSideEncryption="AES256")
    assert named(asking.head_object(Bucket=bucket, Key="sealed.bin")) is None


def test_nothing_is_named_unless_asked(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="quiet.bin", Body=os.urandom(MIB))
    assert local_read.HEADER not in s3.head_object(Bucket=bucket, Key="quiet.bin")["ResponseMetadata"]["HTTPHeaders"]


@pytest.mark.parametrize(("client", "beside"), [("127.0.0.1", True), ("::1", True), ("10.1.2.3", False), ("", False)])
def test_only_ais_loopback_client_is_beside_the_daemon(client: str, beside: bool) -> None:
    assert is_loopback(client) is beside
