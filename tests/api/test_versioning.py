"""Object versioning: bucket states, version ids, delete markers, the null version, ListObjectVersions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tests.conftest import _names


def _enable(s3, bucket: str, status: str = "Enabled") -> None:  # type: ignore[no-untyped-def]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def _purge(s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])


@pytest.fixture
def vbucket(s3) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh bucket with versioning enabled; every version removed afterwards."""
    name = f"ver-{next(_names)}"
    s3.create_bucket(Bucket=name)
    _enable(s3, name)
    yield name
    _purge(s3, name)
    s3.delete_bucket(Bucket=name)


def _versions(s3, bucket: str, **kw: str) -> list[tuple[str, str, bool, bool]]:  # type: ignore[no-untyped-def]
    """(key, version id, is latest, is delete marker) in the listing's order."""
    r = s3.list_object_versions(Bucket=bucket, **kw)
    out = [(v["Key"], v["VersionId"], v["IsLatest"], False, v["LastModified"]) for v in r.get("Versions", [])]
    out += [(m["Key"], m["VersionId"], m["IsLatest"], True, m["LastModified"]) for m in r.get("DeleteMarkers", [])]
    order = {vid: i for i, vid in enumerate(_raw_order(s3, bucket, **kw))}
    out.sort(key=lambda t: order[(t[0], t[1])])
    return [t[:4] for t in out]


def _raw_order(s3, bucket: str, **kw: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The (key, version id) order of Version and DeleteMarker elements as the XML lists them."""
    seen: list[tuple[str, str]] = []

    def grab(http_response, **_: object) -> None:  # type: ignore[no-untyped-def]
        import xml.etree.ElementTree as ET

        root = ET.fromstring(http_response.content)
        for el in root:
            tag = el.tag.split("}")[-1]
            if tag in ("Version", "DeleteMarker"):
                key = el.find("{*}Key")
                vid = el.find("{*}VersionId")
                assert key is not None and vid is not None
                seen.append((key.text or "", vid.text or ""))

    s3.meta.events.register("after-call.s3.ListObjectVersions", grab)
    try:
        s3.list_object_versions(Bucket=bucket, **kw)
    finally:
        s3.meta.events.unregister("after-call.s3.ListObjectVersions", grab)
    return seen


# ---------- bucket state ----------
def test_new_bucket_has_no_versioning_status(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in r


def test_enable_then_suspend(s3, bucket):  # type: ignore[no-untyped-def]
    _enable(s3, bucket)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    _enable(s3, bucket, "Suspended")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_unknown_status_refused(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        _enable(s3, bucket, "Off")
    assert e.value.response["Error"]["Code"] == "MalformedXML"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_mfa_delete_not_implemented(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
    assert e.value.response["Error"]["Code"] == "NotImplemented"


# ---------- versions ----------
def test_put_returns_version_ids_and_each_version_reads_back(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and v1 != "null"
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"two"
    got = s3.get_object(Bucket=vbucket, Key="k", VersionId=v1)
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    assert s3.head_object(Bucket=vbucket, Key="k", VersionId=v2)["ContentLength"] == 3
    assert s3.head_object(Bucket=vbucket, Key="k")["VersionId"] == v2


def test_large_noncurrent_version_keeps_its_bytes(s3, vbucket):  # type: ignore[no-untyped-def]
    big1, big2 = b"a" * 300_000, b"b" * 300_000
    v1 = s3.put_object(Bucket=vbucket, Key="big", Body=big1)["VersionId"]
    s3.put_object(Bucket=vbucket, Key="big", Body=big2)
    body = s3.get_object(Bucket=vbucket, Key="big", VersionId=v1)["Body"].read()
    assert hashlib.md5(body).hexdigest() == hashlib.md5(big1).hexdigest()
    part = s3.get_object(Bucket=vbucket, Key="big", VersionId=v1, Range="bytes=10-19")["Body"].read()
    assert part == b"a" * 10


WELL_FORMED_UNKNOWN = "A" * 32  # the form of a generated id, never generated


def test_unknown_version_is_no_such_version(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=vbucket, Key="k", VersionId=WELL_FORMED_UNKNOWN)
    assert e.value.response["Error"]["Code"] == "NoSuchVersion"


def test_deleting_an_unknown_well_formed_version_is_a_no_op(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"x")
    assert (
        s3.delete_object(Bucket=vbucket, Key="k", VersionId=WELL_FORMED_UNKNOWN)["ResponseMetadata"]["HTTPStatusCode"]
        == 204
    )
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"x"


@pytest.mark.parametrize(
    "call",
    [
        lambda s3, b: s3.get_object(Bucket=b, Key="k", VersionId="garbage"),
        lambda s3, b: s3.head_object(Bucket=b, Key="k", VersionId="garbage"),
        lambda s3, b: s3.delete_object(Bucket=b, Key="k", VersionId="garbage"),
        lambda s3, b: s3.get_object_tagging(Bucket=b, Key="k", VersionId="garbage"),
        lambda s3, b: s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "k", "VersionId": "garbage"}),
        lambda s3, b: s3.list_object_versions(Bucket=b, KeyMarker="k", VersionIdMarker="garbage"),
    ],
    ids=["get", "head", "delete", "tagging", "copy-source", "version-id-marker"],
)
def test_a_malformed_version_id_is_invalid_argument(s3, vbucket, call):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        call(s3, vbucket)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Code"] in ("InvalidArgument", "400")  # a HEAD's error has no body to name it
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"x"


def test_a_malformed_version_id_in_a_multi_delete_fails_that_key_alone(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"x")
    s3.put_object(Bucket=vbucket, Key="other", Body=b"y")
    r = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": "k", "VersionId": "garbage"}, {"Key": "other"}]})
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("k", "InvalidArgument")]
    assert [d["Key"] for d in r["Deleted"]] == ["other"]
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"x"


def test_empty_version_id_refused(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=vbucket, Key="k", VersionId="")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"


def test_delete_makes_a_marker(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    r = s3.delete_object(Bucket=vbucket, Key="k")
    assert r["DeleteMarker"] is True
    marker = r["VersionId"]
    assert marker not in (v1, "null")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=vbucket, Key="k")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    assert s3.get_object(Bucket=vbucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.list_objects_v2(Bucket=vbucket).get("KeyCount") == 0


def test_get_of_a_marker_by_version_id_is_405(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"one")
    marker = s3.delete_object(Bucket=vbucket, Key="k")["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert e.value.response["Error"]["Code"] == "MethodNotAllowed"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"


def test_deleting_the_marker_brings_the_object_back(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    marker = s3.delete_object(Bucket=vbucket, Key="k")["VersionId"]
    r = s3.delete_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert r["DeleteMarker"] is True and r["VersionId"] == marker
    got = s3.get_object(Bucket=vbucket, Key="k")
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=vbucket)["Contents"]] == ["k"]


def test_deleting_the_current_version_promotes_the_previous(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"two")["VersionId"]
    r = s3.delete_object(Bucket=vbucket, Key="k", VersionId=v2)
    assert r["VersionId"] == v2 and "DeleteMarker" not in r
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"one"
    assert _versions(s3, vbucket) == [("k", v1, True, False)]


def test_deleting_a_noncurrent_version_leaves_the_current(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="k", Body=b"two")["VersionId"]
    s3.delete_object(Bucket=vbucket, Key="k", VersionId=v1)
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"two"
    assert _versions(s3, vbucket) == [("k", v2, True, False)]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=vbucket, Key="k", VersionId=v1)
    assert e.value.response["Error"]["Code"] == "NoSuchVersion"


def test_bucket_with_versions_is_not_empty(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"one")
    s3.delete_object(Bucket=vbucket, Key="k")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=vbucket)
    assert e.value.response["Error"]["Code"] == "BucketNotEmpty"


def test_versioned_copy_source_and_copy_version_id(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="src", Body=b"old")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="src", Body=b"new")
    r = s3.copy_object(Bucket=vbucket, Key="dst", CopySource={"Bucket": vbucket, "Key": "src", "VersionId": v1})
    assert r["CopySourceVersionId"] == v1
    assert r["VersionId"] not in (None, "null")
    assert s3.get_object(Bucket=vbucket, Key="dst")["Body"].read() == b"old"


def test_copy_of_a_marker_by_version_refused(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="src", Body=b"x")
    marker = s3.delete_object(Bucket=vbucket, Key="src")["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=vbucket, Key="dst", CopySource={"Bucket": vbucket, "Key": "src", "VersionId": marker})
    assert e.value.response["Error"]["Code"] == "InvalidRequest"


def test_copy_onto_itself_makes_a_new_version(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"x", Metadata={"a": "1"})["VersionId"]
    r = s3.copy_object(
        Bucket=vbucket, Key="k", CopySource={"Bucket": vbucket, "Key": "k"}, Metadata={"a": "2"},
        MetadataDirective="REPLACE",
    )  # fmt: skip
    assert r["VersionId"] != v1
    assert s3.head_object(Bucket=vbucket, Key="k")["Metadata"] == {"a": "2"}
    assert s3.head_object(Bucket=vbucket, Key="k", VersionId=v1)["Metadata"] == {"a": "1"}


def test_multipart_complete_returns_a_version_id(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="mp", Body=b"first")["VersionId"]
    up = s3.create_multipart_upload(Bucket=vbucket, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=vbucket, Key="mp", UploadId=up, PartNumber=1, Body=b"p" * 1000)
    r = s3.complete_multipart_upload(
        Bucket=vbucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    )
    assert r["VersionId"] not in (None, "null", v1)
    assert s3.get_object(Bucket=vbucket, Key="mp", VersionId=r["VersionId"])["Body"].read() == b"p" * 1000
    assert s3.get_object(Bucket=vbucket, Key="mp", VersionId=v1)["Body"].read() == b"first"


def test_tagging_a_version(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="k", Body=b"one", Tagging="a=1")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"two", Tagging="a=2")
    r = s3.put_object_tagging(Bucket=vbucket, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "a", "Value": "x"}]})
    assert r["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=vbucket, Key="k", VersionId=v1)["TagSet"] == [{"Key": "a", "Value": "x"}]
    assert s3.get_object_tagging(Bucket=vbucket, Key="k")["TagSet"] == [{"Key": "a", "Value": "2"}]
    s3.delete_object_tagging(Bucket=vbucket, Key="k", VersionId=v1)
    assert s3.get_object_tagging(Bucket=vbucket, Key="k", VersionId=v1)["TagSet"] == []


def test_conditional_put_against_the_current_version(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"one")
    s3.delete_object(Bucket=vbucket, Key="k")
    # the latest version is a delete marker: there is no current object to match
    s3.put_object(Bucket=vbucket, Key="k", Body=b"two", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=vbucket, Key="k", Body=b"three", IfNoneMatch="*")
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    etag = s3.head_object(Bucket=vbucket, Key="k")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=vbucket, Key="k", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_delete_objects_with_version_ids(s3, vbucket):  # type: ignore[no-untyped-def]
    v1 = s3.put_object(Bucket=vbucket, Key="a", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=vbucket, Key="a", Body=b"2")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="b", Body=b"3")
    r = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": "a", "VersionId": v1}, {"Key": "b"}]})
    deleted = {d["Key"]: d for d in r["Deleted"]}
    assert deleted["a"]["VersionId"] == v1 and "DeleteMarker" not in deleted["a"]
    assert deleted["b"]["DeleteMarker"] is True and deleted["b"]["DeleteMarkerVersionId"] not in ("", "null")
    assert [(k, vid) for k, vid, _, _ in _versions(s3, vbucket) if k == "a"] == [("a", v2)]
    assert [m for k, _, _, m in _versions(s3, vbucket) if k == "b"] == [True, False]


# ---------- the null version ----------
def test_objects_from_before_versioning_are_the_null_version(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    assert _versions(s3, bucket) == [("k", "null", True, False)]
    _enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"after")["VersionId"]
    assert _versions(s3, bucket) == [("k", v1, True, False), ("k", "null", False, False)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"before"
    _purge(s3, bucket)


def test_suspended_sequence_put_put_delete_put(s3, bucket):  # type: ignore[no-untyped-def]
    """AWS: in a suspended bucket a PUT writes the null version, replacing any null version; a DELETE
    without a version id writes a delete marker whose version id is null (replacing the null version);
    versions written while versioning was enabled stay."""
    _enable(s3, bucket)
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"enabled")["VersionId"]
    _enable(s3, bucket, "Suspended")

    r = s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    assert r["VersionId"] == "null"
    assert _versions(s3, bucket) == [("k", "null", True, False), ("k", kept, False, False)]

    r = s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    assert r["VersionId"] == "null"
    assert _versions(s3, bucket) == [("k", "null", True, False), ("k", kept, False, False)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"two"

    r = s3.delete_object(Bucket=bucket, Key="k")
    assert r["DeleteMarker"] is True and r["VersionId"] == "null"
    assert _versions(s3, bucket) == [("k", "null", True, True), ("k", kept, False, False)]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-version-id"] == "null"

    r = s3.put_object(Bucket=bucket, Key="k", Body=b"three")
    assert r["VersionId"] == "null"
    assert _versions(s3, bucket) == [("k", "null", True, False), ("k", kept, False, False)]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"three"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=kept)["Body"].read() == b"enabled"
    _purge(s3, bucket)


def test_never_versioned_bucket_answers_without_version_ids(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "VersionId" not in r
    assert "VersionId" not in s3.head_object(Bucket=bucket, Key="k")
    r = s3.delete_object(Bucket=bucket, Key="k")
    assert "DeleteMarker" not in r and "VersionId" not in r
    assert _versions(s3, bucket) == []


def test_null_version_by_id_in_a_never_versioned_bucket(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"x"
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert _versions(s3, bucket) == []


def test_delete_objects_removing_a_marker_by_id(s3, vbucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=vbucket, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=vbucket, Key="k")["VersionId"]
    r = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [{"Key": "k", "VersionId": marker}]})
    assert r["Deleted"] == [{"Key": "k", "VersionId": marker, "DeleteMarker": True, "DeleteMarkerVersionId": marker}]
    assert s3.get_object(Bucket=vbucket, Key="k")["Body"].read() == b"x"


# ---------- ListObjectVersions ----------
def test_list_versions_order_and_latest(s3, vbucket):  # type: ignore[no-untyped-def]
    b1 = s3.put_object(Bucket=vbucket, Key="b", Body=b"1")["VersionId"]
    a1 = s3.put_object(Bucket=vbucket, Key="a", Body=b"1")["VersionId"]
    b2 = s3.put_object(Bucket=vbucket, Key="b", Body=b"2")["VersionId"]
    bm = s3.delete_object(Bucket=vbucket, Key="b")["VersionId"]
    assert _versions(s3, vbucket) == [
        ("a", a1, True, False),
        ("b", bm, True, True),
        ("b", b2, False, False),
        ("b", b1, False, False),
    ]


def test_list_versions_prefix_and_delimiter(s3, vbucket):  # type: ignore[no-untyped-def]
    for k in ("d/x", "d/y", "e", "ee/z"):
        s3.put_object(Bucket=vbucket, Key=k, Body=b"1")
    s3.put_object(Bucket=vbucket, Key="e", Body=b"2")
    r = s3.list_object_versions(Bucket=vbucket, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["d/", "ee/"]
    assert [v["Key"] for v in r["Versions"]] == ["e", "e"]
    r = s3.list_object_versions(Bucket=vbucket, Prefix="d/")
    assert sorted(v["Key"] for v in r["Versions"]) == ["d/x", "d/y"]


def test_list_versions_pages_with_markers(s3, vbucket):  # type: ignore[no-untyped-def]
    ids = {k: [s3.put_object(Bucket=vbucket, Key=k, Body=str(i).encode())["VersionId"] for i in range(3)] for k in "ab"}
    expected = [(k, vid) for k in "ab" for vid in reversed(ids[k])]
    seen: list[tuple[str, str]] = []
    kw: dict[str, str] = {}
    pages = 0
    while True:
        r = s3.list_object_versions(Bucket=vbucket, MaxKeys=2, **kw)
        pages += 1
        seen += [(v["Key"], v["VersionId"]) for v in r.get("Versions", [])]
        if not r["IsTruncated"]:
            break
        kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
    assert seen == expected and pages == 3
    r = s3.list_object_versions(Bucket=vbucket, KeyMarker="a")
    assert [v["Key"] for v in r["Versions"]] == ["b", "b", "b"]


def test_version_id_marker_needs_key_marker(s3, vbucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.list_object_versions(Bucket=vbucket, VersionIdMarker="x")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"


# ---------- durability ----------
def test_noncurrent_versions_survive_a_kill_and_restart(fresh_server):  # type: ignore[no-untyped-def]
    """Start-up recovery removes blobs no row points at: a noncurrent version's blob must not be one."""
    from tests.conftest import client_for

    s3 = client_for(fresh_server.endpoint, fresh_server.access_key, fresh_server.secret_key)
    s3.create_bucket(Bucket="vers")
    _enable(s3, "vers")
    big = b"z" * 200_000
    v1 = s3.put_object(Bucket="vers", Key="k", Body=big)["VersionId"]
    s3.put_object(Bucket="vers", Key="k", Body=b"small")
    marker = s3.delete_object(Bucket="vers", Key="k")["VersionId"]
    fresh_server.kill9()
    fresh_server.start()
    assert s3.get_object(Bucket="vers", Key="k", VersionId=v1)["Body"].read() == big
    assert _versions(s3, "vers")[0] == ("k", marker, True, True)
    assert s3.get_bucket_versioning(Bucket="vers")["Status"] == "Enabled"


def test_schema_2_data_dir_migrates(tmp_path):  # type: ignore[no-untyped-def]
    """A data dir from before versioning opens: its objects become null versions."""
    import sqlite3

    from tests.conftest import client_for
    from tests.support.server import S3dProcess

    proc = S3dProcess(tmp_path / "data").start()
    s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
    s3.create_bucket(Bucket="old-data")
    s3.put_object(Bucket="old-data", Key="k", Body=b"kept")
    proc.stop()
    conn = sqlite3.connect(tmp_path / "data" / "meta.db")
    conn.executescript(  # the objects table as schema version 2 made it
        "DROP TABLE versions; CREATE TABLE o2 (bucket TEXT NOT NULL, key BLOB NOT NULL, size INTEGER NOT NULL, "
        "etag TEXT NOT NULL, mtime REAL NOT NULL, version INTEGER NOT NULL, meta TEXT NOT NULL, checksum TEXT, "
        "tags TEXT, blob TEXT, parts TEXT, data BLOB, PRIMARY KEY (bucket, key)); "
        "INSERT INTO o2 SELECT bucket, key, size, etag, mtime, version, meta, checksum, tags, blob, parts, data "
        "FROM objects; DROP TABLE objects; ALTER TABLE o2 RENAME TO objects; "
        "UPDATE state SET value=2 WHERE name='schema';"
    )
    conn.close()
    proc.start()
    try:
        assert s3.get_object(Bucket="old-data", Key="k")["Body"].read() == b"kept"
        assert _versions(s3, "old-data") == [("k", "null", True, False)]
        _enable(s3, "old-data")
        v = s3.put_object(Bucket="old-data", Key="k", Body=b"new")["VersionId"]
        assert _versions(s3, "old-data") == [("k", v, True, False), ("k", "null", False, False)]
    finally:
        proc.stop()
