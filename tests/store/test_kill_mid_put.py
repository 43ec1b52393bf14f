"""kill -9 while a large PUT's body is half sent: after restart the key is as before, tmp/ is clean."""

from __future__ import annotations

import random
import socket
import time
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.support.faults import blob_files, referenced_blobs, tmp_files
from tests.support.server import S3dProcess

SIZE = 2 * 1024 * 1024


def client(proc: S3dProcess):  # type: ignore[no-untyped-def]
    return client_for(proc.endpoint, proc.access_key, proc.secret_key, signature_version="s3v4")


def wait_for_partial_tmp(proc: S3dProcess, timeout: float = 20.0) -> None:
    """Until the daemon has streamed part of the body into a temporary file."""
    tmp = proc.data / "tmp"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(f.stat().st_size > 0 for f in tmp.iterdir()):
            return
        time.sleep(0.02)
    raise AssertionError("the half-sent body never reached tmp/")


@pytest.mark.parametrize("previous", [None, b"the previous version " * 5000], ids=["new-key", "overwrite"])
def test_kill9_with_half_a_body_sent_leaves_the_key_as_it_was(fresh_server: S3dProcess, previous: bytes | None) -> None:
    s3 = client(fresh_server)
    s3.create_bucket(Bucket="half")
    if previous is not None:
        s3.put_object(Bucket="half", Key="k", Body=previous)
    url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": "half", "Key": "k"}, ExpiresIn=300))
    body = random.Random(5).randbytes(SIZE)
    head = (f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {SIZE}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", fresh_server.port), timeout=10) as sock:
        sock.sendall(head + body[: SIZE // 2])
        wait_for_partial_tmp(fresh_server)
        fresh_server.kill9()

    fresh_server.start()
    s3 = client(fresh_server)
    if previous is None:
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="half", Key="k")
        assert e.value.response["Error"]["Code"] == "NoSuchKey"
    else:
        assert s3.get_object(Bucket="half", Key="k")["Body"].read() == previous
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="half").get("Contents", [])] == (
        [] if previous is None else ["k"]
    )
    assert tmp_files(fresh_server.data) == []
    assert blob_files(fresh_server.data) == referenced_blobs(fresh_server.data)
