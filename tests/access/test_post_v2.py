"""PostObject with a Signature Version 2 form (AWSAccessKeyId + signature), as boto3 makes with signature_version="s3"."""

from __future__ import annotations

from tests.api.test_post_object import _post
from tests.conftest import client_for


def _v2(server):  # type: ignore[no-untyped-def]
    return client_for(server.endpoint, server.access_key, server.secret_key, signature_version="s3")


def test_post_signed_with_v2_stores_the_file(server, s3, bucket):  # type: ignore[no-untyped-def]
    p = _v2(server).generate_presigned_post(bucket, "up/${filename}", Conditions=[["starts-with", "$key", "up/"]])
    assert "AWSAccessKeyId" in p["fields"] and "signature" in p["fields"]
    status, _, body = _post(p["url"], p["fields"], b"v2 form", filename="a.txt")
    assert status == 204, body
    assert s3.get_object(Bucket=bucket, Key="up/a.txt")["Body"].read() == b"v2 form"


def test_post_v2_with_a_wrong_signature_is_refused(server, s3, bucket):  # type: ignore[no-untyped-def]
    p = _v2(server).generate_presigned_post(bucket, "k")
    fields = dict(p["fields"], signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    status, _, body = _post(p["url"], fields, b"x")
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_post_v2_with_an_unknown_access_key_is_refused(server, s3, bucket):  # type: ignore[no-untyped-def]
    p = _v2(server).generate_presigned_post(bucket, "k")
    fields = dict(p["fields"], AWSAccessKeyId="AKNOBODY")
    status, _, body = _post(p["url"], fields, b"x")
    assert status == 403 and b"InvalidAccessKeyId" in body
