"""Conditional deletes in gateway mode: the condition applies to an object only the remote holds."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError

from tests.gateway.conftest import Gateway


def test_conditional_delete_of_remote_only_object(rclone_gateway: Gateway) -> None:
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="cdel")
    gw.flush()
    body = b"theirs"
    gw.remote.client().put_object(Bucket="cdel", Key="theirs", Body=body)
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket="cdel", Key="theirs", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket="cdel", Key="theirs")["Body"].read() == body
    s3.delete_object(Bucket="cdel", Key="theirs", IfMatch=f'"{hashlib.md5(body).hexdigest()}"')
    assert gw.flush()["flushed"]
    with pytest.raises(ClientError):
        gw.remote.client().head_object(Bucket="cdel", Key="theirs")
