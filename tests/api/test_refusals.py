"""Values s3d used to store although AWS refuses them: now refused with AWS's error, nothing stored."""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

from tests.support.rawhttp import call


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.mark.parametrize("key", ["a%00b", "ctl%01", "form%0Cfeed", "nonchar%EF%BF%BE"])
def test_key_xml_cannot_carry_is_refused(server, s3, bucket, key) -> None:  # type: ignore[no-untyped-def]
    r = call(server, "PUT", f"/{bucket}/{key}", body=b"x")
    assert (r.status, r.error_code) == (400, "InvalidArgument")
    listing = call(server, "GET", f"/{bucket}", query="list-type=2")
    assert listing.status == 200
    assert ET.fromstring(listing.body).find("{*}Contents") is None  # parseable, and nothing stored


def test_multipart_upload_of_a_key_xml_cannot_carry_is_refused(server, bucket) -> None:  # type: ignore[no-untyped-def]
    r = call(server, "POST", f"/{bucket}/nul%00key", query="uploads=")
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_key_with_tab_and_newline_is_stored(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    assert call(server, "PUT", f"/{bucket}/tab%09new%0Aline", body=b"x").status == 200
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["tab\tnew\nline"]


@pytest.mark.parametrize("quiet", ["maybe", "yes", ""])
def test_delete_objects_quiet_not_a_boolean(server, s3, bucket, quiet) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    body = f"<Delete><Quiet>{quiet}</Quiet><Object><Key>a</Key></Object></Delete>".encode()
    r = call(server, "POST", f"/{bucket}", query="delete=", body=body, headers={"Content-MD5": content_md5(body)})
    assert (r.status, r.error_code) == (400, "MalformedXML")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x"


def test_delete_objects_quiet_true(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}], "Quiet": True})
    assert "Deleted" not in r
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_bucket_tag_key_with_aws_prefix(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "aws:x", "Value": "v"}]})
    assert e.value.response["Error"]["Code"] == "InvalidTag"
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchTagSet"


@pytest.mark.parametrize("max_age", ["100000000000000000000000000000", "-1", "2147483648", "1e3", "\u0661"])
def test_cors_max_age_out_of_range(server, s3, bucket, max_age) -> None:  # type: ignore[no-untyped-def]
    body = (
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        f"<MaxAgeSeconds>{max_age}</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    ).encode()
    r = call(server, "PUT", f"/{bucket}", query="cors=", body=body, headers={"Content-MD5": content_md5(body)})
    assert (r.status, r.error_code) == (400, "MalformedXML")
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


def test_cors_max_age_at_int32_max_is_kept(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    rule = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 2**31 - 1}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["MaxAgeSeconds"] == 2**31 - 1
