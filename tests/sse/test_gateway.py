"""Gateway mode: SSE-S3/SSE-KMS objects ship decrypted to the remote (which may be asked for its own SSE);
SSE-C objects never ship."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.gateway.conftest import gateway_on, own_gateway, start_gateway
from tests.sse.conftest import customer, random_bytes
from tests.support.remotes import MOTO, RemoteServer

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


@pytest.mark.parametrize(
    ("env", "expect"),
    [
        ({"S3D_REMOTE_SSE": "AES256"}, {"ServerSideEncryption": "AES256"}),
        (
            {"S3D_REMOTE_SSE": "aws:kms", "S3D_REMOTE_SSE_KMS_KEY_ID": "remote-key-1"},
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "remote-key-1"},
        ),
    ],
    ids=["sse-s3", "sse-kms"],
)
def test_the_remote_is_asked_for_its_own_encryption_when_set(
    tmp_path: Path, env: dict[str, str], expect: dict[str, str]
) -> None:
    remote = RemoteServer(MOTO, tmp_path / "remote-root").start()
    try:
        with gateway_on(tmp_path / "gw", remote, env=env) as gw:
            s3, rc = gw.client(), remote.client()
            s3.create_bucket(Bucket="gwsse")
            bodies = {"one": random_bytes(300_000), "mp": random_bytes(5 * MiB + 1000)}
            s3.put_object(Bucket="gwsse", Key="one", Body=bodies["one"])
            s3.upload_fileobj(
                io.BytesIO(bodies["mp"]), "gwsse", "mp", Config=TransferConfig(multipart_threshold=5 * MiB)
            )
            assert gw.flush()["flushed"]
            for key, body in bodies.items():
                got = rc.get_object(Bucket="gwsse", Key=key)
                assert got["Body"].read() == body
                assert {k: got.get(k) for k in expect} == expect, key
    finally:
        remote.stop()


def test_an_unknown_remote_encryption_is_refused_at_start(tmp_path: Path) -> None:
    remote = RemoteServer(MOTO, tmp_path / "remote-root").start()
    try:
        with pytest.raises(RuntimeError):
            start_gateway(tmp_path / "gw", remote, env={"S3D_REMOTE_SSE": "rot13"})
        logged = "".join(p.read_text() for p in (tmp_path / "gw").glob("s3d-*.log"))
        assert "remote_sse must be one of AES256, aws:kms, got 'rot13'" in logged
    finally:
        remote.stop()
