"""What is on disk: no plaintext, tampering detected (an S3 error and a log line), master key rotation, aws CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError

from tests.conftest import client_for
from tests.sse.conftest import data_files, random_bytes
from tests.support.clients import AwsCli
from tests.support.server import S3dProcess

MiB = 1024 * 1024


def _blob_of(data: Path, bucket: str, key: str) -> Path:
    conn = sqlite3.connect(data / "meta.db")
    try:
        (blob,) = conn.execute("SELECT blob FROM objects WHERE bucket=? AND key=?", (bucket, key.encode())).fetchone()
    finally:
        conn.close()
    return data / "blobs" / blob[:2] / blob


def test_no_plaintext_of_a_marker_object_in_the_data_dir(s3e, ebucket: str, sse_server: S3dProcess) -> None:  # type: ignore[no-untyped-def]
    marker = (b"S3D-PLAINTEXT-MARKER-" * (MiB // 21 + 1))[:MiB]
    s3e.put_object(Bucket=ebucket, Key="marker", Body=marker, ServerSideEncryption="AES256")
    small = b"S3D-SMALL-MARKER-0123456789"
    s3e.put_object(Bucket=ebucket, Key="small", Body=small, ServerSideEncryption="AES256")  # inline, in SQLite
    assert s3e.get_object(Bucket=ebucket, Key="marker")["Body"].read() == marker
    needles = (marker[:64], marker[MiB // 2 : MiB // 2 + 64], small)
    for path in data_files(sse_server.data):
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content, f"plaintext found in {path}"


@pytest.mark.parametrize("where", ["first segment", "last segment", "header"])
def test_tampered_blob_is_an_s3_error_and_a_log_line(s3e, ebucket: str, sse_server: S3dProcess, where: str) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(3 * 64 * 1024 + 5)
    key = f"tamper-{where.replace(' ', '-')}"
    s3e.put_object(Bucket=ebucket, Key=key, Body=body, ServerSideEncryption="AES256")
    blob = _blob_of(sse_server.data, ebucket, key)
    raw = bytearray(blob.read_bytes())
    at = {"first segment": 100, "last segment": len(raw) - 3, "header": 10}[where]
    raw[at] ^= 0x01
    blob.write_bytes(bytes(raw))
    rng = f"bytes={len(body) - 10}-{len(body) - 1}" if where == "last segment" else "bytes=0-99"
    with pytest.raises(ClientError) as e:
        s3e.get_object(Bucket=ebucket, Key=key, Range=rng)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Code"] == "InvalidObjectState"
    with pytest.raises(ClientError) as e:
        s3e.copy_object(Bucket=ebucket, Key="copy", CopySource={"Bucket": ebucket, "Key": key})
    assert e.value.response["Error"]["Code"] == "InvalidObjectState"
    log = sse_server.data.parent / f"s3d-{sse_server.port}.log"
    deadline = time.monotonic() + 5
    while f"{ebucket}/{key}: stored data failed its integrity check" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "no log line for the tampered object"
        time.sleep(0.05)


def test_damaged_envelope_is_an_s3_error(s3e, ebucket: str, sse_server: S3dProcess) -> None:  # type: ignore[no-untyped-def]
    s3e.put_object(Bucket=ebucket, Key="env", Body=b"data", ServerSideEncryption="AES256")
    conn = sqlite3.connect(sse_server.data / "meta.db", timeout=30)
    try:
        (meta,) = conn.execute("SELECT meta FROM objects WHERE bucket=? AND key=?", (ebucket, b"env")).fetchone()
        damaged = json.loads(meta) | {"x-s3d-sse": '{"kind": "AES256", "wrap'}
        with conn:
            conn.execute("UPDATE objects SET meta=? WHERE bucket=? AND key=?", (json.dumps(damaged), ebucket, b"env"))
    finally:
        conn.close()
    with pytest.raises(ClientError) as e:
        s3e.get_object(Bucket=ebucket, Key="env")
    assert e.value.response["Error"]["Code"] == "InvalidObjectState"


def test_tampering_past_the_first_mebibyte_cuts_the_connection(s3e, ebucket: str, sse_server: S3dProcess) -> None:  # type: ignore[no-untyped-def]
    body = random_bytes(3 * MiB)
    s3e.put_object(Bucket=ebucket, Key="big", Body=body, ServerSideEncryption="AES256")
    blob = _blob_of(sse_server.data, ebucket, "big")
    raw = bytearray(blob.read_bytes())
    raw[-100] ^= 0x80
    blob.write_bytes(bytes(raw))
    got = s3e.get_object(Bucket=ebucket, Key="big")  # 200 is out before the last segment is read
    with pytest.raises(ResponseStreamingError):
        got["Body"].read()  # the body stops short: never the wrong bytes


def test_master_key_rotation_keeps_old_objects_readable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = S3dProcess(data, workers=1).start()
    try:
        s3 = client_for(server.endpoint, server.access_key, server.secret_key)
        s3.create_bucket(Bucket="rot")
        old = random_bytes(100_000)
        s3.put_object(Bucket="rot", Key="old", Body=old, ServerSideEncryption="AES256")
    finally:
        server.stop()
    first = json.loads((data / "master-keys.json").read_text())["keys"]
    out = subprocess.run(
        [sys.executable, "-m", "s3d", "rotate-key", "--data", str(data)], capture_output=True, text=True, check=True
    ).stdout
    keys = json.loads((data / "master-keys.json").read_text())["keys"]
    assert len(keys) == 2 and keys[0] == first[0] and keys[1]["id"] in out
    server = S3dProcess(data, workers=1).start()
    try:
        s3 = client_for(server.endpoint, server.access_key, server.secret_key)
        new = random_bytes(100_000)
        s3.put_object(Bucket="rot", Key="new", Body=new, ServerSideEncryption="AES256")
        assert s3.get_object(Bucket="rot", Key="old")["Body"].read() == old
        assert s3.get_object(Bucket="rot", Key="new")["Body"].read() == new
    finally:
        server.stop()
    conn = sqlite3.connect(data / "meta.db")
    envelopes = {
        k.decode(): json.loads(json.loads(m)["x-s3d-sse"]) for k, m in conn.execute("SELECT key, meta FROM objects")
    }
    conn.close()
    assert envelopes["old"]["master"] == first[0]["id"]
    assert envelopes["new"]["master"] == keys[1]["id"]


def test_aws_cli_sse_and_sse_c(sse_server: S3dProcess, ebucket: str, tmp_path: Path) -> None:
    aws = AwsCli(sse_server, tmp_path / "aws-home")
    src = tmp_path / "file.bin"
    body = random_bytes(9 * MiB)  # above the CLI's multipart threshold
    src.write_bytes(body)
    aws.run("s3", "cp", str(src), f"s3://{ebucket}/sse", "--sse", "AES256")
    head = aws.json("s3api", "head-object", "--bucket", ebucket, "--key", "sse")
    assert head["ServerSideEncryption"] == "AES256"
    key = "k" * 32
    aws.run("s3", "cp", str(src), f"s3://{ebucket}/ssec", "--sse-c", "AES256", "--sse-c-key", key)
    back = tmp_path / "back.bin"
    aws.run("s3", "cp", f"s3://{ebucket}/ssec", str(back), "--sse-c", "AES256", "--sse-c-key", key)
    assert back.read_bytes() == body
    aws.run("s3", "cp", f"s3://{ebucket}/sse", str(back))
    assert back.read_bytes() == body
    denied = aws.run(
        "s3", "cp", f"s3://{ebucket}/ssec", str(back), "--sse-c", "AES256", "--sse-c-key", "x" * 32, check=False
    )
    assert denied.returncode != 0 and b"403" in denied.stderr
