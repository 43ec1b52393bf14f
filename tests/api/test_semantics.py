"""Requests s3d implements answer as AWS documents: the differences found by the conformance run, fixed."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import zlib

import pytest
from botocore.exceptions import ClientError

from tests.support import rawhttp

BODY = b"semantics body"
ETAG = f'"{hashlib.md5(BODY).hexdigest()}"'
OTHER = '"0123456789abcdef0123456789abcdef"'
PART = 5 * 1024 * 1024


def code(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def exists(s3, bucket: str, key: str) -> bool:  # type: ignore[no-untyped-def]
    return any(o["Key"] == key for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", []))


# ---------- conditional deletes ----------
def test_delete_if_match_current_etag_deletes(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    s3.delete_object(Bucket=bucket, Key="k", IfMatch=ETAG)
    assert not exists(s3, bucket, "k")


def test_delete_if_match_other_etag_is_412_and_keeps(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="k", IfMatch=OTHER)
    assert code(e) == (412, "PreconditionFailed")
    assert exists(s3, bucket, "k")


def test_delete_if_match_missing_key_is_404(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="nothing", IfMatch="*")
    assert code(e) == (404, "NoSuchKey")


def test_delete_if_match_size_differing_is_412(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    r = rawhttp.call(server, "DELETE", f"/{bucket}/k", headers={"x-amz-if-match-size": str(len(BODY) + 1)})
    assert (r.status, r.error_code) == (412, "PreconditionFailed")
    assert exists(s3, bucket, "k")
    r = rawhttp.call(server, "DELETE", f"/{bucket}/k", headers={"x-amz-if-match-size": str(len(BODY))})
    assert r.status == 204
    assert not exists(s3, bucket, "k")


def test_delete_if_match_last_modified_differing_is_412(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    lm = s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    r = rawhttp.call(
        server, "DELETE", f"/{bucket}/k", headers={"x-amz-if-match-last-modified-time": "Sat, 01 Jan 2000 00:00:00 GMT"}
    )
    assert (r.status, r.error_code) == (412, "PreconditionFailed")
    r = rawhttp.call(server, "DELETE", f"/{bucket}/k", headers={"x-amz-if-match-last-modified-time": lm})
    assert r.status == 204
    assert not exists(s3, bucket, "k")


def test_delete_objects_entry_with_other_etag_is_an_error_entry(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=BODY)
    s3.put_object(Bucket=bucket, Key="b", Body=BODY)
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a", "ETag": OTHER}, {"Key": "b", "ETag": ETAG}]})
    assert [d["Key"] for d in r.get("Deleted", [])] == ["b"]
    assert [(x["Key"], x["Code"]) for x in r.get("Errors", [])] == [("a", "PreconditionFailed")]
    assert exists(s3, bucket, "a") and not exists(s3, bucket, "b")


def test_delete_objects_entry_with_other_size_is_kept(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a", Body=BODY)
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a", "Size": len(BODY) + 1}]})
    assert [(x["Key"], x["Code"]) for x in r.get("Errors", [])] == [("a", "PreconditionFailed")]
    assert exists(s3, bucket, "a")


# ---------- conditional writes ----------
def test_put_if_match_current_etag_overwrites(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    s3.put_object(Bucket=bucket, Key="k", Body=b"new", IfMatch=ETAG)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def test_put_if_match_other_etag_is_412(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"new", IfMatch=OTHER)
    assert code(e) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == BODY


def test_put_if_match_missing_key_is_404(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="nothing", Body=b"new", IfMatch=ETAG)
    assert code(e) == (404, "NoSuchKey")


def test_put_if_none_match_etag_is_refused(server, bucket) -> None:  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "PUT", f"/{bucket}/k", body=BODY, headers={"If-None-Match": ETAG})
    assert (r.status, r.error_code) == (501, "NotImplemented")


def _upload(s3, bucket: str, key: str, algo: str | None = None) -> tuple[str, list[dict[str, object]], bytes]:  # type: ignore[no-untyped-def]
    extra = {"ChecksumAlgorithm": algo} if algo else {}
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    data = [os.urandom(PART), b"tail"]
    parts = []
    for i, d in enumerate(data, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=d, **extra)
        p: dict[str, object] = {"PartNumber": i, "ETag": r["ETag"]}
        if algo:
            p[f"Checksum{algo}"] = r[f"Checksum{algo}"]
        parts.append(p)
    return uid, parts, b"".join(data)


def test_complete_if_match_other_etag_is_412(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="mp", Body=BODY)
    uid, parts, _ = _upload(s3, bucket, "mp")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts}, IfMatch=OTHER
        )
    assert code(e) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == BODY
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts}, IfMatch=ETAG)
    assert s3.head_object(Bucket=bucket, Key="mp")["ContentLength"] == PART + 4


def test_complete_if_match_missing_key_is_404(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid, parts, _ = _upload(s3, bucket, "mp")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts}, IfMatch=ETAG
        )
    assert code(e) == (404, "NoSuchKey")


# ---------- CompleteMultipartUpload ----------
def test_complete_full_object_checksum_header_matching_completes(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(PART) + b"tail"
    full = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    uid = s3.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")[
        "UploadId"
    ]
    parts = []
    for n, chunk in ((1, data[:PART]), (2, data[PART:])):
        r = s3.upload_part(Bucket=bucket, Key="full", UploadId=uid, PartNumber=n, Body=chunk, ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    # the header carries the CRC32 of the whole object, not of the XML body
    r = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="full",
        UploadId=uid,
        MultipartUpload={"Parts": parts},
        ChecksumCRC32=full,
        ChecksumType="FULL_OBJECT",
    )
    assert r["ChecksumCRC32"] == full
    assert s3.get_object(Bucket=bucket, Key="full")["Body"].read() == data


def test_complete_full_object_checksum_header_differing_is_bad_digest(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")[
        "UploadId"
    ]
    r = s3.upload_part(Bucket=bucket, Key="full", UploadId=uid, PartNumber=1, Body=BODY, ChecksumAlgorithm="CRC32")
    parts = [{"PartNumber": 1, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]}]
    wrong = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="full", UploadId=uid, MultipartUpload={"Parts": parts}, ChecksumCRC32=wrong
        )
    assert code(e) == (400, "BadDigest")
    assert not exists(s3, bucket, "full")


def test_complete_checksum_header_that_is_no_crc32_is_invalid_request(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")[
        "UploadId"
    ]
    r = s3.upload_part(Bucket=bucket, Key="full", UploadId=uid, PartNumber=1, Body=BODY, ChecksumAlgorithm="CRC32")
    parts = [{"PartNumber": 1, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]}]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="full", UploadId=uid, MultipartUpload={"Parts": parts}, ChecksumCRC32="!!!"
        )
    assert code(e) == (400, "InvalidRequest")
    assert e.value.response["Error"]["Message"] == "Value for x-amz-checksum-crc32 header is invalid."
    assert not exists(s3, bucket, "full")


def test_complete_mp_object_size_differing_is_invalid_request(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid, parts, data = _upload(s3, bucket, "mp")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts}, MpuObjectSize=len(data) + 1
        )
    assert code(e) == (400, "InvalidRequest")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts}, MpuObjectSize=len(data)
    )
    assert s3.head_object(Bucket=bucket, Key="mp")["ContentLength"] == len(data)


def test_repeated_complete_with_same_parts_answers_the_same(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid, parts, _ = _upload(s3, bucket, "mp")
    first = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})
    again = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (again["ETag"], again["Key"], again["Bucket"]) == (first["ETag"], first["Key"], first["Bucket"])


def test_repeated_complete_with_other_parts_is_no_such_upload(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid, parts, _ = _upload(s3, bucket, "mp")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts[:1]})
    assert code(e) == (404, "NoSuchUpload")


def test_complete_with_duplicate_part_number_is_invalid_part_order(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid, parts, _ = _upload(s3, bucket, "mp")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [parts[0], parts[0], parts[1]]}
        )
    assert code(e) == (400, "InvalidPartOrder")


# ---------- reads ----------
def test_part_number_past_the_last_part_is_invalid_part(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert s3.get_object(Bucket=bucket, Key="k", PartNumber=1)["Body"].read() == BODY
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", PartNumber=2)
    assert code(e) == (400, "InvalidPart")


def test_content_encoding_comes_back_as_stored(server, bucket) -> None:  # type: ignore[no-untyped-def]
    enc = "gzip, br"
    assert rawhttp.call(server, "PUT", f"/{bucket}/k", body=BODY, headers={"Content-Encoding": enc}).status == 200
    assert rawhttp.call(server, "HEAD", f"/{bucket}/k").headers["content-encoding"] == enc


# ---------- listings ----------
def test_list_objects_v1_without_encoding_returns_prefix_as_sent(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a b+c/d", Body=BODY)
    r = rawhttp.call(server, "GET", f"/{bucket}", query={"prefix": "a b+c/"})
    assert r.status == 200
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    assert r.xml().findtext(f"{ns}Prefix") == "a b+c/"
    assert [k.text for k in r.xml().iter(f"{ns}Key")] == ["a b+c/d"]


def test_list_objects_v2_empty_continuation_token_is_the_first_page(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    r = rawhttp.call(server, "GET", f"/{bucket}", query={"list-type": "2", "continuation-token": ""})
    assert r.status == 200
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    assert [k.text for k in r.xml().iter(f"{ns}Key")] == ["k"]


# ---------- tags ----------
def test_eleven_object_tags_is_invalid_tag(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    tagging = "&".join(f"k{i}=v" for i in range(11))
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=BODY, Tagging=tagging)
    assert code(e) == (400, "InvalidTag")


# ---------- keys ----------
def test_key_that_is_not_utf8_is_400(server, bucket) -> None:  # type: ignore[no-untyped-def]
    target, headers = rawhttp.sign(
        server.endpoint, "GET", f"/{bucket}/ok", access_key=server.access_key, secret_key=server.secret_key
    )
    head = rawhttp.head_bytes("GET", "/x", headers).replace(b"GET /x ", b"GET /" + bucket.encode() + b"/\xff\xfe ")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head)
        status = s.recv(65536).split(b"\r\n", 1)[0]
    assert status.split()[1] == b"400"


# ---------- CORS preflight ----------
def test_preflight_on_presigned_url_answers_cors(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["PUT"]}]},
    )
    url = rawhttp.presign(server.endpoint, "PUT", f"/{bucket}/k", access_key=server.access_key, secret_key="wrong" * 8)
    r = rawhttp.get_url(
        url, "OPTIONS", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}
    )
    assert r.status == 200
    assert r.headers["access-control-allow-origin"] == "https://app.example"


# ---------- AbortMultipartUpload ----------
def test_abort_if_match_initiated_time_differing_is_412_and_keeps_upload(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    r = rawhttp.call(
        server, "DELETE", f"/{bucket}/mp", query={"uploadId": uid},
        headers={"x-amz-if-match-initiated-time": "Sat, 01 Jan 2000 00:00:00 GMT"},
    )  # fmt: skip
    assert (r.status, r.error_code) == (412, "PreconditionFailed")
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [uid]
    initiated = s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["Initiated"]
    when = initiated.strftime("%a, %d %b %Y %H:%M:%S GMT")
    r = rawhttp.call(
        server, "DELETE", f"/{bucket}/mp", query={"uploadId": uid}, headers={"x-amz-if-match-initiated-time": when}
    )
    assert r.status == 204
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_abort_if_match_initiated_time_of_no_upload_is_204(server, bucket) -> None:  # type: ignore[no-untyped-def]
    r = rawhttp.call(
        server, "DELETE", f"/{bucket}/mp", query={"uploadId": "nosuchupload"},
        headers={"x-amz-if-match-initiated-time": "Sat, 01 Jan 2000 00:00:00 GMT"},
    )  # fmt: skip
    assert r.status == 204
