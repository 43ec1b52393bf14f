"""Configurations that name a moment past year 9999 (store/dates.py): valid per AWS (Days up to 2**31 - 1) or
stored before today's bounds (a default retention of a million years, an Expiration Date in year 10000).

No date can write such a moment. Every request touching one used to answer 500; now a retention holds until
9999-12-31T23:59:59Z (the version stays locked), an abort or expiration never comes, and the headers name
9999-12-31T23:59:59Z. The daemons here run with real days (86400 s), so 2**31 - 1 days is past year 9999."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from s3d.store.lifecycle import LIFECYCLE, Filter, Rule
from s3d.store.locks import LOCK_CONFIG, UNTIL_META
from tests.api.test_lifecycle import wait_until
from tests.conftest import client_for
from tests.support.older import rewrite, set_bucket_config, set_object_meta
from tests.support.server import S3dProcess

INT32_DAYS = 2**31 - 1  # S3's largest Days: "a non-zero positive integer" of type integer
LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
LAST_HTTP = "Fri, 31 Dec 9999 23:59:59 GMT"
MILLION_YEARS = 10**6  # a default retention stored before Years was bounded to 100
BEYOND_FLOAT_YEARS = 10**400  # a number of years no float holds
DAY = 86400


def _abort_rule(rule_id: str, prefix: str, days: int) -> dict[str, object]:
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}}  # fmt: skip


def _expire_rule(days: int) -> dict[str, object]:
    return {"ID": "far", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": days}}


def _lifecycle(s3, bucket: str, *rules: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


@pytest.fixture
def old(fresh_server: S3dProcess):  # type: ignore[no-untyped-def]
    """A client of a daemon of the test's own, whose meta.db the test rewrites as an older s3d left it."""
    return client_for(fresh_server.endpoint, fresh_server.access_key, fresh_server.secret_key)


def _locked_bucket(s3, name: str, years: int) -> None:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": years}}})  # fmt: skip


# ---------- AbortIncompleteMultipartUpload of 2**31 - 1 days (valid per AWS) ----------
def test_create_multipart_upload_names_the_last_date_as_abort_date(s3, bucket):  # type: ignore[no-untyped-def]
    _lifecycle(s3, bucket, _abort_rule("far", "", INT32_DAYS))
    r = s3.create_multipart_upload(Bucket=bucket, Key="k")
    assert (r["AbortDate"], r["AbortRuleId"]) == (LAST, "far")
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=r["UploadId"])


def test_list_parts_names_the_last_date_as_abort_date(s3, bucket):  # type: ignore[no-untyped-def]
    _lifecycle(s3, bucket, _abort_rule("far", "", INT32_DAYS))
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"part")
    r = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)
    assert (r["AbortDate"], r["AbortRuleId"], len(r["Parts"])) == (LAST, "far", 1)
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)


def test_an_upload_past_year_9999_is_never_aborted_by_a_scan(fresh_server: S3dProcess, old) -> None:  # type: ignore[no-untyped-def]
    old.create_bucket(Bucket="uploads")
    _lifecycle(old, "uploads", _abort_rule("soon", "soon/", 1), _abort_rule("far", "far/", INT32_DAYS))
    soon = old.create_multipart_upload(Bucket="uploads", Key="soon/k")["UploadId"]
    far = old.create_multipart_upload(Bucket="uploads", Key="far/k")["UploadId"]
    # both begun three days ago: the scan at start aborts the one-day upload, and only that one
    rewrite(fresh_server, lambda db: db.execute("UPDATE uploads SET initiated=initiated-?", (3 * DAY,)))

    def ids() -> set[str]:
        return {u["UploadId"] for u in old.list_multipart_uploads(Bucket="uploads").get("Uploads", [])}

    assert wait_until(lambda: soon not in ids())
    assert ids() == {far}


# ---------- Expiration of 2**31 - 1 days (valid per AWS) ----------
def test_an_object_past_year_9999_is_never_expired_by_a_scan(fresh_server: S3dProcess, old) -> None:  # type: ignore[no-untyped-def]
    old.create_bucket(Bucket="objects")
    soon = {"ID": "soon", "Status": "Enabled", "Filter": {"Prefix": "soon/"}, "Expiration": {"Days": 1}}
    far = {"ID": "far", "Status": "Enabled", "Filter": {"Prefix": "far/"}, "Expiration": {"Days": INT32_DAYS}}
    _lifecycle(old, "objects", soon, far)
    for key in ("soon/k", "far/k"):
        old.put_object(Bucket="objects", Key=key, Body=b"x")
    # both written three days ago: the scan at start expires the one-day object, and only that one
    rewrite(fresh_server, lambda db: db.execute("UPDATE objects SET mtime=mtime-?", (3 * DAY,)))

    def keys() -> list[str]:
        return [o["Key"] for o in old.list_objects_v2(Bucket="objects").get("Contents", [])]

    assert wait_until(lambda: "soon/k" not in keys())
    assert keys() == ["far/k"]


def test_expiration_of_int32_days_is_accepted(s3, bucket):  # type: ignore[no-untyped-def]
    _lifecycle(s3, bucket, _expire_rule(INT32_DAYS))
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Expiration"] == {"Days": INT32_DAYS}


def test_expiration_past_year_9999_names_the_last_date(s3, bucket):  # type: ignore[no-untyped-def]
    _lifecycle(s3, bucket, _expire_rule(INT32_DAYS))
    expected = f'expiry-date="{LAST_HTTP}", rule-id="far"'
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"x")["Expiration"] == expected
    assert s3.head_object(Bucket=bucket, Key="k")["Expiration"] == expected
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["Body"].read(), got["Expiration"]) == (b"x", expected)


def test_expiration_date_stored_past_year_9999_is_answered_as_the_last_date(fresh_server: S3dProcess, old) -> None:  # type: ignore[no-untyped-def]
    old.create_bucket(Bucket="dated")
    year_10000 = LAST.timestamp() + DAY  # a Date before Date was bounded (9999-12-31T01:00:00-23:00 read as UTC)
    set_bucket_config(fresh_server, "dated", LIFECYCLE, [Rule("d", True, Filter(), expire_date=year_10000).to_json()])
    assert old.get_bucket_lifecycle_configuration(Bucket="dated")["Rules"][0]["Expiration"] == {"Date": LAST}
    assert old.put_object(Bucket="dated", Key="k", Body=b"x")["Expiration"] == f'expiry-date="{LAST_HTTP}", rule-id="d"'


# ---------- default retention stored before Years was bounded ----------
@pytest.mark.parametrize("years", [MILLION_YEARS, BEYOND_FLOAT_YEARS], ids=["million", "beyond-float"])
def test_default_retention_past_year_9999_locks_until_the_last_date(fresh_server: S3dProcess, old, years: int) -> None:  # type: ignore[no-untyped-def]
    _locked_bucket(old, "vault", 1)
    set_bucket_config(fresh_server, "vault", LOCK_CONFIG, {"mode": "COMPLIANCE", "years": years})
    old.put_object(Bucket="vault", Key="k", Body=b"x", ChecksumAlgorithm="CRC32")
    head = old.head_object(Bucket="vault", Key="k")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", LAST)


def test_a_version_locked_past_year_9999_stays_locked(fresh_server: S3dProcess, old) -> None:  # type: ignore[no-untyped-def]
    _locked_bucket(old, "vault", 1)
    set_bucket_config(fresh_server, "vault", LOCK_CONFIG, {"mode": "COMPLIANCE", "years": MILLION_YEARS})
    v = old.put_object(Bucket="vault", Key="k", Body=b"x", ChecksumAlgorithm="CRC32")["VersionId"]
    with pytest.raises(ClientError) as e:
        old.delete_object(Bucket="vault", Key="k", VersionId=v)
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert old.get_object(Bucket="vault", Key="k", VersionId=v)["Body"].read() == b"x"


def test_retention_stored_past_year_9999_is_answered_as_the_last_date(fresh_server: S3dProcess, old) -> None:  # type: ignore[no-untyped-def]
    _locked_bucket(old, "vault", 1)
    old.put_object(Bucket="vault", Key="k", Body=b"x", ChecksumAlgorithm="CRC32")
    set_object_meta(fresh_server, "vault", "k", UNTIL_META, repr(time.time() + MILLION_YEARS * 365.0 * DAY))
    r = old.get_object_retention(Bucket="vault", Key="k")["Retention"]
    assert r == {"Mode": "COMPLIANCE", "RetainUntilDate": LAST}
    assert old.head_object(Bucket="vault", Key="k")["ObjectLockRetainUntilDate"] == LAST


def test_compliance_retention_past_year_9999_can_be_put_again_at_the_last_date(fresh_server: S3dProcess, old) -> None:  # type: ignore[no-untyped-def]
    _locked_bucket(old, "vault", 1)
    old.put_object(Bucket="vault", Key="k", Body=b"x", ChecksumAlgorithm="CRC32")
    set_object_meta(fresh_server, "vault", "k", UNTIL_META, "inf")
    old.put_object_retention(Bucket="vault", Key="k", ChecksumAlgorithm="CRC32",
                             Retention={"Mode": "COMPLIANCE", "RetainUntilDate": LAST})  # fmt: skip
    assert old.get_object_retention(Bucket="vault", Key="k")["Retention"]["RetainUntilDate"] == LAST
