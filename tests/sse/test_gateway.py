"""Gateway mode: SSE-S3/SSE-KMS objects ship decrypted to the remote; SSE-C objects never ship."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.gateway.conftest import own_gateway
from tests.sse.conftest import customer, random_bytes

MiB = 1024 * 1024


def test_sse_s3_and_kms_objects_ship_as_their_plaintext(tmp_path: Path) -> None:
    with own_gateway(tmp_path) as gw:
        s3, remote = gw.client(), gw.remote.client()
        s3.create_bucket(Bucket="gwsse")
        bodies = {"inline": random_bytes(100), "blob": random_bytes(300_000), "mp": random_bytes(5 * MiB + 70_000)}
        s3.put_object(Bucket="gwsse", Key="inline", Body=bodies["inline"], ServerSideEncryption="AES256")
        s3.put_object(Bucket="gwsse", Key="blob", Body=bodies["blob"], ServerSideEncryption="aws:kms")
        up = s3.create_multipart_upload(Bucket="gwsse", Key="mp", ServerSideEncryption="AES256")
        parts = []
        for n, off in enumerate(range(0, len(bodies["mp"]), 5 * MiB), start=1):
            r = s3.upload_part(
                Bucket="gwsse", Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=bodies["mp"][off : off + 5 * MiB]
            )
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        s3.complete_multipart_upload(
            Bucket="gwsse", Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
        )
        assert gw.flush()["flushed"]
        for key, body in bodies.items():
            assert remote.get_object(Bucket="gwsse", Key=key)["Body"].read() == body, key


def test_sse_c_objects_stay_local_and_their_old_remote_copy_goes(tmp_path: Path) -> None:
    with own_gateway(tmp_path) as gw:
        s3, remote = gw.client(), gw.remote.client()
        s3.create_bucket(Bucket="gwsse")
        s3.put_object(Bucket="gwsse", Key="k", Body=b"plain version")
        assert gw.flush()["flushed"]
        assert remote.get_object(Bucket="gwsse", Key="k")["Body"].read() == b"plain version"
        secret = random_bytes(200_000)
        s3.put_object(Bucket="gwsse", Key="k", Body=secret, **customer())
        s3.put_object(Bucket="gwsse", Key="new", Body=b"never shipped", **customer())
        assert gw.flush()["flushed"]  # held objects do not hold up a flush
        for key in ("k", "new"):
            with pytest.raises(ClientError) as e:
                remote.head_object(Bucket="gwsse", Key=key)
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert s3.get_object(Bucket="gwsse", Key="k", **customer())["Body"].read() == secret
