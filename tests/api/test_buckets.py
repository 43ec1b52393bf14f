"""Bucket operations: ListBuckets, CreateBucket, GetBucketLocation, DeleteBucket, HeadBucket."""

from __future__ import annotations

import itertools
import os

import pytest
from botocore.exceptions import ClientError

from tests.support import rawhttp

_n = itertools.count()


def new_name(tag: str = "b") -> str:
    return f"{tag}-{os.getpid()}-{next(_n)}"


@pytest.fixture
def made(s3):  # type: ignore[no-untyped-def]
    """Names of buckets a test creates; removed afterwards."""
    names: list[str] = []
    yield names
    for n in names:
        try:
            s3.delete_bucket(Bucket=n)
        except ClientError:
            pass


def test_list_buckets_shows_a_created_bucket(s3, made):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name)
    made.append(name)
    r = s3.list_buckets()
    mine = [b for b in r["Buckets"] if b["Name"] == name]
    assert len(mine) == 1
    assert mine[0]["CreationDate"].year >= 2024
    assert r["Owner"]["ID"]


def test_list_buckets_is_sorted_by_name(s3, made):  # type: ignore[no-untyped-def]
    names = [new_name("zz"), new_name("aa"), new_name("mm")]
    for n in names:
        s3.create_bucket(Bucket=n)
        made.append(n)
    listed = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert [n for n in listed if n in names] == sorted(names)


def test_create_bucket_answers_location_header(server, made):  # type: ignore[no-untyped-def]
    name = new_name()
    r = rawhttp.call(server, "PUT", f"/{name}")
    made.append(name)
    assert r.status == 200
    assert r.headers["location"] == f"/{name}"


def test_location_constraint_is_reported_by_get_bucket_location(s3, made):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    made.append(name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"


def test_bucket_without_location_constraint_is_in_us_east_1(s3, made):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name)
    made.append(name)
    # S3 reports us-east-1 as an empty LocationConstraint
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") is None
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"


def test_head_bucket_reports_the_location_constraint_region(s3, made):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    made.append(name)
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "ap-south-1"


def _create_with(server, body: bytes) -> rawhttp.RawResponse:  # type: ignore[no-untyped-def]
    return rawhttp.call(server, "PUT", f"/{new_name()}", body=body)


def test_a_location_constraint_that_is_no_region_is_refused(server):  # type: ignore[no-untyped-def]
    body = b"<CreateBucketConfiguration><LocationConstraint>mars-1</LocationConstraint></CreateBucketConfiguration>"
    r = _create_with(server, body)
    assert (r.status, r.error_code) == (400, "InvalidLocationConstraint")


def test_the_legacy_eu_location_constraint_is_eu_west_1(s3, made):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "EU"})
    made.append(name)
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"


def test_a_directory_bucket_configuration_is_not_implemented(server):  # type: ignore[no-untyped-def]
    body = (
        b"<CreateBucketConfiguration><Location><Type>AvailabilityZone</Type><Name>use1-az4</Name></Location>"
        b"<Bucket><Type>Directory</Type><DataRedundancy>SingleAvailabilityZone</DataRedundancy></Bucket>"
        b"</CreateBucketConfiguration>"
    )
    r = _create_with(server, body)
    assert (r.status, r.error_code) == (501, "NotImplemented")


@pytest.mark.parametrize(
    "inner",
    [
        b"<Bogus/>",
        b"<LocationConstraint>eu-west-1</LocationConstraint><LocationConstraint>us-west-2</LocationConstraint>",
    ],
    ids=["unknown-element", "two-constraints"],
)
def test_a_create_bucket_configuration_with_what_s3_does_not_define_is_malformed(server, inner):  # type: ignore[no-untyped-def]
    r = _create_with(server, b"<CreateBucketConfiguration>" + inner + b"</CreateBucketConfiguration>")
    assert (r.status, r.error_code) == (400, "MalformedXML")


def test_recreating_own_bucket_in_us_east_1_succeeds(s3, made):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name)
    made.append(name)
    again = s3.create_bucket(Bucket=name)  # S3's legacy us-east-1 behaviour: 200, nothing changes
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]].count(name) == 1


def test_recreating_own_bucket_elsewhere_is_bucket_already_owned_by_you(s3, made):  # type: ignore[no-untyped-def]
    name = new_name()
    where = {"LocationConstraint": "eu-west-1"}
    s3.create_bucket(Bucket=name, CreateBucketConfiguration=where)
    made.append(name)
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration=where)
    assert e.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_create_bucket_with_malformed_configuration_is_malformed_xml(server, s3):  # type: ignore[no-untyped-def]
    name = new_name()
    r = rawhttp.call(server, "PUT", f"/{name}", body=b"<CreateBucketConfiguration><Location")
    assert (r.status, r.error_code) == (400, "MalformedXML")
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_bucket_with_wrong_content_sha256_creates_nothing(server, s3):  # type: ignore[no-untyped-def]
    name = new_name()
    body = b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
    wrong = "0" * 64
    r = rawhttp.call(server, "PUT", f"/{name}", body=body, payload_hash=wrong)
    assert (r.status, r.error_code) == (400, "XAmzContentSHA256Mismatch")
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_bucket_without_content_length_is_accepted(server, s3, made):  # type: ignore[no-untyped-def]
    # e.g. curl -X PUT with no body sends neither Content-Length nor Transfer-Encoding
    name = new_name()
    target, headers = rawhttp.sign(
        server.endpoint, "PUT", f"/{name}", access_key=server.access_key, secret_key=server.secret_key,
        content_length=False,
    )  # fmt: skip
    r = rawhttp.send(server.endpoint, "PUT", target, headers)
    made.append(name)
    assert r.status == 200
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_bucket_with_oversized_configuration_is_rejected(server, s3):  # type: ignore[no-untyped-def]
    name = new_name()
    body = b"<CreateBucketConfiguration>" + b" " * 70_000 + b"</CreateBucketConfiguration>"
    r = rawhttp.call(server, "PUT", f"/{name}", body=body)
    assert (r.status, r.error_code) == (400, "MaxMessageLengthExceeded")
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize(
    "name",
    [
        "ab",  # too short
        "a" * 64,  # too long
        "UpperCase",
        "192.168.5.4",  # formatted as an IP address
        "dots..inside",
        "-starts-with-dash",
        "ends-with-dash-",
        "under_score",
        "dash-.dot",
        "xn--prefixed",
        "suffixed-s3alias",
    ],
)
def test_invalid_bucket_name_is_rejected(server, s3, name):  # type: ignore[no-untyped-def]
    # raw request: boto3 itself refuses some of these names before sending
    r = rawhttp.call(server, "PUT", f"/{name}")
    assert (r.status, r.error_code) == (400, "InvalidBucketName")
    assert r.xml().findtext("BucketName") == name
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.dotted.bucket", "0-numeric-start", "9.9.9.a"])
def test_valid_bucket_name_is_accepted(s3, made, name):  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket=name)
    made.append(name)
    s3.head_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_delete_empty_bucket_removes_it(s3):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name)
    r = s3.delete_bucket(Bucket=name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_non_empty_bucket_is_bucket_not_empty(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="keep", Body=b"data")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "BucketNotEmpty"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"data"


def test_delete_missing_bucket_is_no_such_bucket(s3):  # type: ignore[no-untyped-def]
    name = new_name("missing")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert e.value.response["Error"]["Code"] == "NoSuchBucket"
    assert e.value.response["Error"]["BucketName"] == name
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_head_missing_bucket_is_404(server):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "HEAD", f"/{new_name('missing')}")
    assert r.status == 404
    assert r.body == b""
    assert r.headers["x-amz-error-code"] == "NoSuchBucket"


def test_head_existing_bucket_is_200(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.head_bucket(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_recreate_after_delete_gives_an_empty_bucket(s3):  # type: ignore[no-untyped-def]
    name = new_name()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"1")
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    s3.create_bucket(Bucket=name)
    try:
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    finally:
        s3.delete_bucket(Bucket=name)


def test_list_buckets_paginates_with_max_buckets(s3, made):  # type: ignore[no-untyped-def]
    prefix = new_name("pg")
    names = [f"{prefix}-{i}" for i in range(3)]
    for n in names:
        s3.create_bucket(Bucket=n)
        made.append(n)
    seen: list[str] = []
    token = None
    for _ in range(5):
        kw = {"Prefix": prefix, "MaxBuckets": 2}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_buckets(**kw)
        seen += [b["Name"] for b in r["Buckets"]]
        token = r.get("ContinuationToken")
        if not token:
            break
    assert seen == names


@pytest.mark.parametrize("value", ["0", "-1", "abc", "10001"])
def test_list_buckets_with_bad_max_buckets_is_invalid_argument(server, value):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", "/", query={"max-buckets": value})
    assert (r.status, r.error_code) == (400, "InvalidArgument")
