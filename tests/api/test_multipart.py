"""Multipart uploads through boto3: ETags, part rules, listing, abort, ranged reads across parts."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from botocore.exceptions import ClientError

MiB = 1024 * 1024


def _mpu(s3, bucket, key, parts, **create):  # type: ignore[no-untyped-def]
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)
    uid = up["UploadId"]
    done = []
    for i, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=data)
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return uid, done


def test_complete_joins_parts_without_copy_and_etag_is_md5_of_md5s(s3, bucket):  # type: ignore[no-untyped-def]
    parts = [bytes([i]) * (5 * MiB) for i in range(1, 3)] + [b"tail"]
    uid, done = _mpu(s3, bucket, "mp", parts)
    r = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
    want = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
    assert r["ETag"] == f'"{want}"'
    body = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["ETag"] == f'"{want}"'
    assert got["Body"].read() == body
    rng = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MiB - 3}-{5 * MiB + 2}")["Body"].read()
    assert rng == body[5 * MiB - 3 : 5 * MiB + 3]


def test_get_part_number_returns_that_part_and_parts_count(s3, bucket):  # type: ignore[no-untyped-def]
    parts = [b"a" * (5 * MiB), b"b" * 100]
    uid, done = _mpu(s3, bucket, "pn", parts)
    s3.complete_multipart_upload(Bucket=bucket, Key="pn", UploadId=uid, MultipartUpload={"Parts": done})
    r = s3.get_object(Bucket=bucket, Key="pn", PartNumber=2)
    assert r["Body"].read() == b"b" * 100
    assert r["PartsCount"] == 2
    h = s3.head_object(Bucket=bucket, Key="pn", PartNumber=1)
    assert h["ContentLength"] == 5 * MiB
    assert h["PartsCount"] == 2


def test_small_non_last_part_is_entity_too_small(s3, bucket):  # type: ignore[no-untyped-def]
    uid, done = _mpu(s3, bucket, "small", [b"x" * 100, b"y" * 100])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=uid, MultipartUpload={"Parts": done})
    assert e.value.response["Error"]["Code"] == "EntityTooSmall"


def test_wrong_etag_is_invalid_part_and_order_is_checked(s3, bucket):  # type: ignore[no-untyped-def]
    uid, done = _mpu(s3, bucket, "bad", [b"x" * (5 * MiB), b"y"])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="bad", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00"'}]}
        )
    assert e.value.response["Error"]["Code"] == "InvalidPart"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=uid, MultipartUpload={"Parts": done[::-1]})
    assert e.value.response["Error"]["Code"] == "InvalidPartOrder"


def test_unknown_upload_is_no_such_upload(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId="nope", PartNumber=1, Body=b"x")
    assert e.value.response["Error"]["Code"] == "NoSuchUpload"


def test_part_number_out_of_range_is_rejected(s3, bucket):  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=10001, Body=b"x")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"


def test_abort_removes_upload_and_list_uploads_shows_pending(s3, bucket):  # type: ignore[no-untyped-def]
    u1 = s3.create_multipart_upload(Bucket=bucket, Key="dir/a")["UploadId"]
    u2 = s3.create_multipart_upload(Bucket=bucket, Key="dir/b")["UploadId"]
    s3.create_multipart_upload(Bucket=bucket, Key="top")
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")
    assert [(u["Key"], u["UploadId"]) for u in r["Uploads"]] == [("dir/a", u1), ("dir/b", u2)]
    r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir/"]
    assert [u["Key"] for u in r["Uploads"]] == ["top"]
    s3.abort_multipart_upload(Bucket=bucket, Key="dir/a", UploadId=u1)
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")
    assert [u["UploadId"] for u in r["Uploads"]] == [u2]
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="dir/a", UploadId=u1)
    assert e.value.response["Error"]["Code"] == "NoSuchUpload"


def test_list_uploads_pages_with_markers(s3, bucket):  # type: ignore[no-untyped-def]
    ids = {s3.create_multipart_upload(Bucket=bucket, Key=f"k{i}")["UploadId"]: f"k{i}" for i in range(5)}
    seen = []
    kw: dict[str, str] = {}
    while True:
        r = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2, **kw)
        seen += [u["UploadId"] for u in r.get("Uploads", [])]
        if not r["IsTruncated"]:
            break
        kw = {"KeyMarker": r["NextKeyMarker"], "UploadIdMarker": r["NextUploadIdMarker"]}
    assert sorted(seen) == sorted(ids) and len(seen) == 5


def test_list_parts_paginates(s3, bucket):  # type: ignore[no-untyped-def]
    uid, _ = _mpu(s3, bucket, "lp", [b"%d" % i for i in range(5)])
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in r["Parts"]] == [1, 2] and r["IsTruncated"]
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, PartNumberMarker=r["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in r["Parts"]] == [3, 4, 5] and not r["IsTruncated"]
    assert r["Parts"][0]["ETag"] == f'"{hashlib.md5(b"2").hexdigest()}"'


def test_reuploaded_part_replaces_previous(s3, bucket):  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="re")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="re", UploadId=uid, PartNumber=1, Body=b"old")
    r = s3.upload_part(Bucket=bucket, Key="re", UploadId=uid, PartNumber=1, Body=b"new")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="re", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]}
    )
    assert s3.get_object(Bucket=bucket, Key="re")["Body"].read() == b"new"


def test_upload_part_copy_with_range(s3, bucket):  # type: ignore[no-untyped-def]
    src = bytes(range(256)) * (24 * 1024)  # 6 MiB
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    p1 = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1, CopySource=f"{bucket}/src",
        CopySourceRange=f"bytes=0-{5 * MiB - 1}",
    )  # fmt: skip
    p2 = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=2,
        CopySource=f"{bucket}/src",
        CopySourceRange=f"bytes={5 * MiB}-{len(src) - 1}",
    )
    assert p1["CopyPartResult"]["ETag"] == f'"{hashlib.md5(src[: 5 * MiB]).hexdigest()}"'
    parts = [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]},
    ]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == src


def test_crc32_composite_checksum_reported(s3, bucket):  # type: ignore[no-untyped-def]
    parts = [b"a" * (5 * MiB), b"b" * 10]
    up = s3.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm="CRC32")
    uid = up["UploadId"]
    done = []
    for i, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="ck", UploadId=uid, PartNumber=i, Body=data, ChecksumAlgorithm="CRC32")
        want = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        assert r["ChecksumCRC32"] == want
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    r = s3.complete_multipart_upload(Bucket=bucket, Key="ck", UploadId=uid, MultipartUpload={"Parts": done})
    raw = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)
    composite = base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    assert r["ChecksumCRC32"] == composite
    got = s3.get_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == composite
    assert got["Body"].read() == b"".join(parts)


def test_upload_file_multipart_round_trip(s3, bucket, tmp_path):  # type: ignore[no-untyped-def]
    from boto3.s3.transfer import TransferConfig

    data = (b"0123456789abcdef" * 65536) * 12 + b"end"  # 12 MiB + 3 bytes
    src = tmp_path / "f"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(src), bucket, "file", Config=cfg)
    head = s3.head_object(Bucket=bucket, Key="file")
    assert head["ETag"].endswith('-3"')
    out = tmp_path / "out"
    s3.download_file(bucket, "file", str(out), Config=cfg)
    assert out.read_bytes() == data


def test_complete_with_if_none_match_refuses_existing_key(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="exists", Body=b"x")
    uid, done = _mpu(s3, bucket, "exists", [b"y"])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="exists", UploadId=uid, MultipartUpload={"Parts": done}, IfNoneMatch="*"
        )
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="exists")["Body"].read() == b"x"


def test_a_composite_upload_completed_without_a_part_checksum_is_refused(s3, bucket):  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="sha", ChecksumAlgorithm="SHA256")["UploadId"]
    r = s3.upload_part(Bucket=bucket, Key="sha", UploadId=uid, PartNumber=1, Body=b"x" * 10, ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="sha", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]}
        )
    assert e.value.response["Error"]["Code"] == "InvalidRequest"
    assert "missing for part 1" in e.value.response["Error"]["Message"]
    listed = [{"PartNumber": 1, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key="sha", UploadId=uid, MultipartUpload={"Parts": listed})
    assert s3.get_object(Bucket=bucket, Key="sha")["Body"].read() == b"x" * 10


def test_a_part_without_the_upload_s_checksum_is_refused(server, s3, bucket):  # type: ignore[no-untyped-def]
    from tests.conftest import client_for

    bare = client_for(
        server.endpoint, server.access_key, server.secret_key, request_checksum_calculation="when_required"
    )
    uid = s3.create_multipart_upload(Bucket=bucket, Key="sha", ChecksumAlgorithm="SHA256")["UploadId"]
    with pytest.raises(ClientError) as e:
        bare.upload_part(Bucket=bucket, Key="sha", UploadId=uid, PartNumber=1, Body=b"x" * 10)
    assert e.value.response["Error"]["Code"] == "InvalidRequest"
    assert s3.list_parts(Bucket=bucket, Key="sha", UploadId=uid).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="sha", UploadId=uid)
