"""Object lock: lock-enabled buckets, default retention, retention and legal hold per version, enforcement."""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tests.conftest import _names, client_for
from tests.support import rawhttp
from tests.support.rawhttp import call


def _soon(seconds: float = 3600) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)


def _code(e: pytest.ExceptionInfo[ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


@pytest.fixture
def lbucket(s3) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A bucket created with object lock; its versions are left behind locked (a test daemon's data dir)."""
    name = f"lock-{next(_names)}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name


def test_lock_enabled_bucket_is_versioned_and_cannot_be_suspended(s3, lbucket):  # type: ignore[no-untyped-def]
    assert s3.get_bucket_versioning(Bucket=lbucket)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=lbucket)["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled"
    }
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=lbucket, VersioningConfiguration={"Status": "Suspended"})
    assert _code(e) == "InvalidBucketState"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert s3.get_bucket_versioning(Bucket=lbucket)["Status"] == "Enabled"


def test_enabling_lock_on_a_bucket_without_versioning_is_409(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert _code(e) == "InvalidBucketState"
    with pytest.raises(ClientError) as e:
        s3.get_object_lock_configuration(Bucket=bucket)
    assert _code(e) == "ObjectLockConfigurationNotFoundError"


def test_lock_can_be_enabled_on_an_existing_versioned_bucket(s3):  # type: ignore[no-untyped-def]
    bucket = f"later-lock-{next(_names)}"  # left behind with a locked version, as lbucket
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    s3.put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    assert s3.get_object_retention(Bucket=bucket, Key="k", VersionId=v)["Retention"]["Mode"] == "GOVERNANCE"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=v)
    assert _code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert _code(e) == "InvalidBucketState"


@pytest.fixture
def bare(server):  # type: ignore[no-untyped-def]
    """A client that adds no checksum where S3's model does not require one (a PutObject sends no integrity header)."""
    return client_for(
        server.endpoint, server.access_key, server.secret_key, request_checksum_calculation="when_required"
    )


def test_a_put_with_lock_headers_needs_an_integrity_header(bare, lbucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bare.put_object(
            Bucket=lbucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_soon()
        )
    assert _code(e) == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        bare.put_object(Bucket=lbucket, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert _code(e) == "InvalidRequest"
    assert "Versions" not in bare.list_object_versions(Bucket=lbucket)
    bare.put_object(Bucket=lbucket, Key="k", Body=b"x", ObjectLockLegalHoldStatus="OFF", ContentMD5=_md5(b"x"))


def test_a_put_into_a_bucket_with_default_retention_needs_an_integrity_header(s3, bare, lbucket):  # type: ignore[no-untyped-def]
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    s3.put_object_lock_configuration(
        Bucket=lbucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    with pytest.raises(ClientError) as e:
        bare.put_object(Bucket=lbucket, Key="k", Body=b"x")
    assert _code(e) == "InvalidRequest"
    s3.put_object(Bucket=lbucket, Key="k", Body=b"x")  # boto3's default: a CRC32 checksum


@pytest.mark.parametrize("query", ["retention", "legal-hold", "object-lock"])
def test_lock_configuration_puts_need_an_integrity_header(server, s3, lbucket, query):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=lbucket, Key="k", Body=b"x")
    bodies = {
        "retention": b"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>",
        "legal-hold": b"<LegalHold><Status>ON</Status></LegalHold>",
        "object-lock": b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>",
    }
    path = f"/{lbucket}" if query == "object-lock" else f"/{lbucket}/k"
    r = rawhttp.call(server, "PUT", path, query=query, body=bodies[query])
    assert (r.status, r.error_code) == (400, "InvalidRequest")
    ok = rawhttp.call(
        server, "PUT", path, query=query, body=bodies[query], headers={"Content-MD5": _md5(bodies[query])}
    )
    assert ok.status == 200


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def test_lock_headers_refused_without_lock(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_soon())
    assert _code(e) == "InvalidRequest"


def test_compliance_version_cannot_be_deleted_or_shortened(s3, lbucket):  # type: ignore[no-untyped-def]
    until = _soon()
    v = s3.put_object(Bucket=lbucket, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)[
        "VersionId"
    ]
    head = s3.head_object(Bucket=lbucket, Key="k")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs((head["ObjectLockRetainUntilDate"] - until).total_seconds()) < 1
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=lbucket, Key="k", VersionId=v, BypassGovernanceRetention=True)
    assert _code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.put_object_retention(
            Bucket=lbucket, Key="k", VersionId=v, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": _soon(60)},
            BypassGovernanceRetention=True,
        )  # fmt: skip
    assert _code(e) == "AccessDenied"
    later = _soon(7200)
    s3.put_object_retention(
        Bucket=lbucket, Key="k", VersionId=v, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later}
    )
    got = s3.get_object_retention(Bucket=lbucket, Key="k", VersionId=v)["Retention"]
    assert got["Mode"] == "COMPLIANCE" and abs((got["RetainUntilDate"] - later).total_seconds()) < 1
    assert s3.get_object(Bucket=lbucket, Key="k", VersionId=v)["Body"].read() == b"x"


def test_governance_yields_only_to_bypass(s3, lbucket):  # type: ignore[no-untyped-def]
    v = s3.put_object(
        Bucket=lbucket, Key="g", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_soon()
    )["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=lbucket, Key="g", VersionId=v)
    assert _code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.put_object_retention(
            Bucket=lbucket, Key="g", VersionId=v, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _soon(60)}
        )
    assert _code(e) == "AccessDenied"
    r = s3.delete_object(Bucket=lbucket, Key="g", VersionId=v, BypassGovernanceRetention=True)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.list_object_versions(Bucket=lbucket, Prefix="g").get("Versions") is None


def test_delete_without_version_id_adds_a_marker_even_when_locked(s3, lbucket):  # type: ignore[no-untyped-def]
    v = s3.put_object(
        Bucket=lbucket, Key="m", Body=b"x", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=_soon()
    )["VersionId"]
    assert s3.delete_object(Bucket=lbucket, Key="m")["DeleteMarker"] is True
    assert s3.get_object(Bucket=lbucket, Key="m", VersionId=v)["Body"].read() == b"x"


def test_legal_hold(s3, lbucket):  # type: ignore[no-untyped-def]
    v = s3.put_object(Bucket=lbucket, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert s3.get_object_legal_hold(Bucket=lbucket, Key="h", VersionId=v)["LegalHold"]["Status"] == "ON"
    assert s3.head_object(Bucket=lbucket, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=lbucket, Key="h", VersionId=v, BypassGovernanceRetention=True)
    assert _code(e) == "AccessDenied"
    s3.put_object_legal_hold(Bucket=lbucket, Key="h", VersionId=v, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=lbucket, Key="h", VersionId=v)["LegalHold"]["Status"] == "OFF"
    s3.delete_object(Bucket=lbucket, Key="h", VersionId=v)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=lbucket, Key="h", VersionId=v)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_default_retention_applies_to_new_versions(s3, lbucket):  # type: ignore[no-untyped-def]
    s3.put_object_lock_configuration(
        Bucket=lbucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    got = s3.get_object_lock_configuration(Bucket=lbucket)["ObjectLockConfiguration"]
    assert got["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}
    v = s3.put_object(Bucket=lbucket, Key="d", Body=b"x")["VersionId"]
    r = s3.get_object_retention(Bucket=lbucket, Key="d", VersionId=v)["Retention"]
    left = (r["RetainUntilDate"] - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert r["Mode"] == "GOVERNANCE" and 86000 < left <= 86400
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=lbucket, Key="d", VersionId=v)
    assert _code(e) == "AccessDenied"


def test_default_retention_validation(s3, lbucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object_lock_configuration(
            Bucket=lbucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}},
            },
        )
    assert _code(e) == "MalformedXML"
    with pytest.raises(ClientError) as e:
        s3.put_object_lock_configuration(
            Bucket=lbucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}},
            },
        )
    assert _code(e) == "InvalidArgument"


def test_retention_in_the_past_refused(s3, lbucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(
            Bucket=lbucket, Key="p", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_soon(-60)
        )
    assert _code(e) == "InvalidArgument"


def test_object_without_retention_has_no_retention(s3, lbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=lbucket, Key="n", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object_retention(Bucket=lbucket, Key="n")
    assert _code(e) == "NoSuchObjectLockConfiguration"


def test_copy_does_not_carry_the_source_lock(s3, lbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=lbucket, Key="src", Body=b"x", ObjectLockLegalHoldStatus="ON")
    s3.copy_object(Bucket=lbucket, Key="dst", CopySource={"Bucket": lbucket, "Key": "src"})
    assert "ObjectLockLegalHoldStatus" not in s3.head_object(Bucket=lbucket, Key="dst")


def test_retain_until_date_past_year_9999_is_refused(server, lbucket):  # type: ignore[no-untyped-def]
    # 10000-01-01T04:00Z: no date the object's headers give can write it
    headers = {
        "x-amz-object-lock-mode": "GOVERNANCE",
        "x-amz-object-lock-retain-until-date": "9999-12-31T23:00:00-05:00",
        "Content-MD5": base64.b64encode(hashlib.md5(b"x").digest()).decode(),
    }
    r = call(server, "PUT", f"/{lbucket}/far", body=b"x", headers=headers)
    assert (r.status, r.error_code) == (400, "InvalidArgument")
