"""S3 on an erasure-coded pool: multipart uploads, copies (read by decoding), encryption at rest, other clients."""

from __future__ import annotations

import io
import os

from boto3.s3.transfer import TransferConfig

from tests.support.clients import AwsCli, Rclone

BUCKET = "api"
MIB = 1 << 20


def test_multipart_upload_and_ranged_read(pool_s3) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    data = os.urandom(12 * MIB + 3)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    pool_s3.upload_fileobj(io.BytesIO(data), BUCKET, "mp", Config=cfg)
    assert pool_s3.get_object(Bucket=BUCKET, Key="mp")["Body"].read() == data
    across = pool_s3.get_object(Bucket=BUCKET, Key="mp", Range=f"bytes={5 * MIB - 10}-{10 * MIB + 10}")
    assert across["Body"].read() == data[5 * MIB - 10 : 10 * MIB + 11]


def test_copy_object_and_upload_part_copy(pool_s3) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    data = os.urandom(6 * MIB + 11)
    pool_s3.put_object(Bucket=BUCKET, Key="src", Body=data)
    pool_s3.copy_object(Bucket=BUCKET, Key="copy", CopySource={"Bucket": BUCKET, "Key": "src"})
    assert pool_s3.get_object(Bucket=BUCKET, Key="copy")["Body"].read() == data
    up = pool_s3.create_multipart_upload(Bucket=BUCKET, Key="parts")["UploadId"]
    first = pool_s3.upload_part_copy(
        Bucket=BUCKET, Key="parts", UploadId=up, PartNumber=1,
        CopySource={"Bucket": BUCKET, "Key": "src"}, CopySourceRange=f"bytes=0-{5 * MIB - 1}",
    )  # fmt: skip
    second = pool_s3.upload_part_copy(
        Bucket=BUCKET, Key="parts", UploadId=up, PartNumber=2,
        CopySource={"Bucket": BUCKET, "Key": "src"}, CopySourceRange=f"bytes={5 * MIB}-{6 * MIB + 10}",
    )  # fmt: skip
    pool_s3.complete_multipart_upload(
        Bucket=BUCKET, Key="parts", UploadId=up,
        MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]},
        ]},
    )  # fmt: skip
    assert pool_s3.get_object(Bucket=BUCKET, Key="parts")["Body"].read() == data


def test_encrypted_at_rest(pool_s3) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    data = os.urandom(3 * MIB + 1)
    pool_s3.put_object(Bucket=BUCKET, Key="sse", Body=data, ServerSideEncryption="AES256")
    assert pool_s3.get_object(Bucket=BUCKET, Key="sse")["Body"].read() == data
    assert pool_s3.get_object(Bucket=BUCKET, Key="sse", Range="bytes=1000-2000000")["Body"].read() == data[1000:2000001]


def test_aws_cli_and_rclone_round_trip(pool_s3, pool_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Other clients, unchanged: the aws CLI (multipart, default checksums) and rclone, up and down."""
    pool_s3.create_bucket(Bucket=BUCKET)
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(9 * MIB + 5))
    aws = AwsCli(pool_server, tmp_path / "aws-home")
    aws.run("s3", "cp", str(src), f"s3://{BUCKET}/aws.bin")
    aws.run("s3", "cp", f"s3://{BUCKET}/aws.bin", str(tmp_path / "aws-down.bin"))
    assert (tmp_path / "aws-down.bin").read_bytes() == src.read_bytes()
    rclone = Rclone(pool_server, tmp_path / "rclone-home")
    rclone.run("copyto", str(src), f"{Rclone.REMOTE}:{BUCKET}/rclone.bin")
    rclone.run("copyto", f"{Rclone.REMOTE}:{BUCKET}/rclone.bin", str(tmp_path / "rclone-down.bin"))
    assert (tmp_path / "rclone-down.bin").read_bytes() == src.read_bytes()
