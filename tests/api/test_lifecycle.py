"""Lifecycle: configuration and its validation, and the scanner acting on rules (a "day" of one second)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import _names, client_for
from tests.support import rawhttp
from tests.support.rawhttp import RawResponse, call
from tests.support.server import S3dProcess

DAY = "1"  # seconds: the daemons here run with lifecycle_day_seconds = 1
PAUSED = "1000000000"  # a "day" so long that nothing written now expires
WAIT = 30.0


def wait_until(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    proc = S3dProcess(tmp_path_factory.mktemp("lc") / "data", workers=2, args=["--lifecycle-day-seconds", DAY])
    yield proc.start()
    proc.stop()


@pytest.fixture(scope="module")
def lc(fast):  # type: ignore[no-untyped-def]
    return client_for(fast.endpoint, fast.access_key, fast.secret_key)


@pytest.fixture
def name(lc) -> str:  # type: ignore[no-untyped-def]
    n = f"lc-{next(_names)}"
    lc.create_bucket(Bucket=n)
    return n


def _keys(s3, bucket: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _rule(**kw: object) -> dict[str, object]:
    return {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, **kw}


def _put_rules(s3, bucket: str, *rules: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


# ---------- configuration ----------
def test_configuration_round_trip_and_delete(lc, name):  # type: ignore[no-untyped-def]
    rules = [
        {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
        {
            "ID": "big-tmp", "Status": "Disabled",
            "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "k", "Value": "v"}], "ObjectSizeGreaterThan": 10}},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 2, "NewerNoncurrentVersions": 3},
        },
        {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": ""}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]  # fmt: skip
    _put_rules(lc, name, *rules)
    assert lc.get_bucket_lifecycle_configuration(Bucket=name)["Rules"] == rules
    lc.delete_bucket_lifecycle(Bucket=name)
    with pytest.raises(ClientError) as e:
        lc.get_bucket_lifecycle_configuration(Bucket=name)
    assert e.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


@pytest.mark.parametrize(
    "rules, code",
    [
        ([_rule(Expiration={"Days": 1}), _rule(Expiration={"Days": 2})], "InvalidArgument"),  # duplicate ID
        ([_rule()], "InvalidRequest"),  # no action
        ([_rule(Expiration={"Days": 0})], "InvalidArgument"),
        ([_rule(Filter={"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}}, Expiration={"Days": 1})], "MalformedXML"),
        (
            [_rule(Filter={"Tag": {"Key": "k", "Value": "v"}}, Expiration={"ExpiredObjectDeleteMarker": True})],
            "InvalidRequest",
        ),
        ([_rule(NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 101})], "InvalidArgument"),
        ([_rule(Transitions=[{"Days": 1, "StorageClass": "GLACIER"}])], "NotImplemented"),
        ([{"ID": "x" * 256, "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}], "InvalidArgument"),
    ],
)
def test_invalid_configurations_refused(lc, name, rules, code):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        _put_rules(lc, name, *rules)
    assert e.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError):
        lc.get_bucket_lifecycle_configuration(Bucket=name)


def test_date_must_be_midnight(lc, name):  # type: ignore[no-untyped-def]
    at = datetime.datetime(2040, 1, 1, 12, tzinfo=datetime.UTC)
    with pytest.raises(ClientError) as e:
        _put_rules(lc, name, _rule(Expiration={"Date": at}))
    assert e.value.response["Error"]["Code"] == "InvalidArgument"


def _put_xml(server: S3dProcess, bucket: str, rule: str) -> RawResponse:
    body = f"<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status>{rule}</Rule></LifecycleConfiguration>"
    md5 = base64.b64encode(hashlib.md5(body.encode()).digest()).decode()
    return call(server, "PUT", f"/{bucket}", query="lifecycle", body=body.encode(), headers={"Content-MD5": md5})


@pytest.mark.parametrize(
    "rule",
    [
        "<Filter></Filter><Expiration><Days>\u0661</Days></Expiration>",  # Arabic-Indic one: int() reads 1
        "<Filter></Filter><Expiration><Days> 1</Days></Expiration>",
        "<Filter></Filter><NoncurrentVersionExpiration><NoncurrentDays>\u0661</NoncurrentDays></NoncurrentVersionExpiration>",
        "<Filter></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>7 </DaysAfterInitiation>"
        "</AbortIncompleteMultipartUpload>",
        "<Filter><ObjectSizeGreaterThan>\u0661</ObjectSizeGreaterThan></Filter><Expiration><Days>1</Days></Expiration>",
        "<Filter></Filter><Expiration><Days>\u00b2</Days></Expiration>",  # str.isdigit() says yes, int() says no
    ],
)
def test_lifecycle_number_that_is_not_an_s3_integer_is_invalid_argument(fast, name, rule):  # type: ignore[no-untyped-def]
    r = _put_xml(fast, name, rule)
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_date_past_year_9999_is_refused(fast, name):  # type: ignore[no-untyped-def]
    # midnight of 10000-01-01 in UTC: no HTTP or ISO 8601 date can write it
    r = _put_xml(fast, name, "<Filter></Filter><Expiration><Date>9999-12-31T01:00:00-23:00</Date></Expiration>")
    assert (r.status, r.error_code) == (400, "InvalidArgument")


# ---------- actions ----------
def test_expiration_deletes_matching_objects_and_announces_itself(lc, name):  # type: ignore[no-untyped-def]
    _put_rules(lc, name, {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 2}})
    r = lc.put_object(Bucket=name, Key="tmp/a", Body=b"x")
    assert 'rule-id="tmp"' in r["Expiration"]
    assert 'rule-id="tmp"' in lc.head_object(Bucket=name, Key="tmp/a")["Expiration"]
    lc.put_object(Bucket=name, Key="keep", Body=b"y")
    assert "Expiration" not in lc.head_object(Bucket=name, Key="keep")
    assert wait_until(lambda: _keys(lc, name) == ["keep"])


def test_expiration_in_a_versioned_bucket_adds_a_delete_marker(lc, name):  # type: ignore[no-untyped-def]
    lc.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v = lc.put_object(Bucket=name, Key="k", Body=b"x")["VersionId"]
    _put_rules(lc, name, _rule(Expiration={"Days": 1}))
    assert wait_until(lambda: _keys(lc, name) == [])
    r = lc.list_object_versions(Bucket=name)
    assert [x["VersionId"] for x in r["Versions"]] == [v]
    assert [m["IsLatest"] for m in r["DeleteMarkers"]] == [True]


def test_noncurrent_expiration_keeps_newer_noncurrent_versions(lc, name):  # type: ignore[no-untyped-def]
    lc.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    ids = [lc.put_object(Bucket=name, Key="k", Body=str(i).encode())["VersionId"] for i in range(4)]
    _put_rules(lc, name, _rule(NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}))

    def left() -> list[str]:
        return [x["VersionId"] for x in lc.list_object_versions(Bucket=name).get("Versions", [])]

    assert wait_until(lambda: left() == [ids[3], ids[2]])
    assert lc.get_object(Bucket=name, Key="k")["Body"].read() == b"3"


def test_expired_delete_markers_go(lc, name):  # type: ignore[no-untyped-def]
    lc.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    lc.put_object(Bucket=name, Key="k", Body=b"x")
    lc.delete_object(Bucket=name, Key="k")
    _put_rules(
        lc,
        name,
        _rule(NoncurrentVersionExpiration={"NoncurrentDays": 1}, Expiration={"ExpiredObjectDeleteMarker": True}),
    )
    assert wait_until(
        lambda: "Versions" not in (r := lc.list_object_versions(Bucket=name)) and "DeleteMarkers" not in r
    )


def test_lifecycle_never_removes_a_locked_version(lc):  # type: ignore[no-untyped-def]
    n = f"lcl-{next(_names)}"
    lc.create_bucket(Bucket=n, ObjectLockEnabledForBucket=True)
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    held = lc.put_object(Bucket=n, Key="k", Body=b"held", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    free = lc.put_object(Bucket=n, Key="k", Body=b"free")["VersionId"]
    lc.put_object(Bucket=n, Key="k", Body=b"current")
    _put_rules(lc, n, _rule(NoncurrentVersionExpiration={"NoncurrentDays": 1}))

    def left() -> list[str]:
        return [x["VersionId"] for x in lc.list_object_versions(Bucket=n).get("Versions", [])]

    assert wait_until(lambda: free not in left())
    assert held["VersionId"] in left()
    assert lc.get_object(Bucket=n, Key="k", VersionId=held["VersionId"])["Body"].read() == b"held"


def test_incomplete_uploads_are_aborted(lc, name):  # type: ignore[no-untyped-def]
    up = lc.create_multipart_upload(Bucket=name, Key="big")["UploadId"]
    lc.upload_part(Bucket=name, Key="big", UploadId=up, PartNumber=1, Body=b"p" * 100)
    _put_rules(lc, name, _rule(AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}))
    assert wait_until(lambda: "Uploads" not in lc.list_multipart_uploads(Bucket=name))


def test_kill9_during_a_scan_leaves_nothing_half_deleted(tmp_path: Path) -> None:
    proc = S3dProcess(tmp_path / "data", workers=2, args=["--lifecycle-day-seconds", DAY]).start()
    try:
        s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
        s3.create_bucket(Bucket="scan")
        body = b"b" * 70_000  # a blob file each (above the inline limit)
        keys = [f"k{i:04d}" for i in range(400)]
        for k in keys:
            s3.put_object(Bucket="scan", Key=k, Body=body)
        _put_rules(s3, "scan", _rule(Expiration={"Days": 1}))
        wait_until(lambda: len(_keys(s3, "scan")) < len(keys))
        proc.kill9()
        proc.args = ["--lifecycle-day-seconds", PAUSED]  # nothing expires: the state after the kill holds still
        proc.start()
        listed = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="scan"):
            listed |= {o["Key"] for o in page.get("Contents", [])}
        for k in keys:  # every key whole or gone, and the listing agrees
            try:
                assert s3.get_object(Bucket="scan", Key=k)["Body"].read() == body
                assert k in listed
            except ClientError as e:
                assert e.response["Error"]["Code"] == "NoSuchKey"
                assert k not in listed
        blobs = [p for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file()]
        assert len(blobs) == len(listed)  # no blob without its object, no object without its blob
        proc.stop()
        proc.args = ["--lifecycle-day-seconds", DAY]
        proc.start()
        assert wait_until(lambda: _keys(s3, "scan") == [])  # the scan resumes after the restart
        assert wait_until(lambda: not [p for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file()])
    finally:
        proc.stop()


# ---------- the setting ----------
def test_day_seconds_from_flag_environment_and_file(tmp_path: Path) -> None:
    from s3d.config import ConfigError, load

    toml = tmp_path / "s3d.toml"
    toml.write_text("lifecycle_day_seconds = 5\n")
    assert load({}, env={}).lifecycle_day_seconds == 86400
    assert load({"config": str(toml)}, env={}).lifecycle_day_seconds == 5
    env = {"S3D_LIFECYCLE_DAY_SECONDS": "2.5"}
    assert load({"config": str(toml)}, env=env).lifecycle_day_seconds == 2.5
    assert load({"config": str(toml), "lifecycle_day_seconds": 1.0}, env=env).lifecycle_day_seconds == 1
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ConfigError):
            load({}, env={"S3D_LIFECYCLE_DAY_SECONDS": bad})


def test_put_lifecycle_needs_an_integrity_header(server, bucket):  # type: ignore[no-untyped-def]
    body = (
        b"<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix>p/</Prefix></Filter>"
        b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
    )
    r = rawhttp.call(server, "PUT", f"/{bucket}", query="lifecycle", body=body)
    assert (r.status, r.error_code) == (400, "InvalidRequest")
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    assert (
        rawhttp.call(server, "PUT", f"/{bucket}", query="lifecycle", body=body, headers={"Content-MD5": md5}).status
        == 200
    )


def test_an_upload_an_abort_rule_applies_to_is_told_when_it_will_be_aborted(s3, bucket):  # type: ignore[no-untyped-def]
    rule = {
        "ID": "mpu",
        "Status": "Enabled",
        "Filter": {"Prefix": "mpu/"},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }
    _put_rules(s3, bucket, rule)
    before = datetime.datetime.now(datetime.UTC)
    created = s3.create_multipart_upload(Bucket=bucket, Key="mpu/x")
    assert created["AbortRuleId"] == "mpu"
    days = (created["AbortDate"] - before).total_seconds() / 86400
    assert 7 <= days <= 8  # 7 days after initiation, rounded up to the next day boundary (as S3)
    parts = s3.list_parts(Bucket=bucket, Key="mpu/x", UploadId=created["UploadId"])
    assert (parts["AbortDate"], parts["AbortRuleId"]) == (created["AbortDate"], "mpu")
    other = s3.create_multipart_upload(Bucket=bucket, Key="elsewhere")
    assert "AbortDate" not in other and "AbortRuleId" not in other


def test_a_rule_sent_without_an_id_is_given_one(s3, bucket):  # type: ignore[no-untyped-def]
    rules = [
        {"Status": "Enabled", "Filter": {"Prefix": "a/"}, "Expiration": {"Days": 1}},
        _rule(Expiration={"Days": 2}),
    ]
    _put_rules(s3, bucket, *rules)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["ID"] and got[0]["ID"] != "r" and got[1]["ID"] == "r"
    s3.put_object(Bucket=bucket, Key="a/x", Body=b"x")
    expiration = s3.head_object(Bucket=bucket, Key="a/x")["Expiration"]
    assert f'rule-id="{got[0]["ID"]}"' in expiration
    assert got == s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]  # named once, for good
