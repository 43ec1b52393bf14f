"""Capacity for unshipped data is reserved only for authenticated writes: a stranger cannot hold it."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.gateway.conftest import own_gateway
from tests.support import rawhttp

MiB = 1 << 20


def test_unauthenticated_post_reserves_nothing(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--cache-max-bytes", "8M") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket="room")
        boundary = "b0undary"
        head = (
            f"POST /room HTTP/1.1\r\nHost: 127.0.0.1:{gw.s3d.port}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {7 * MiB}\r\n\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n'
        ).encode()
        with socket.create_connection(("127.0.0.1", gw.s3d.port), timeout=30) as trickle:
            trickle.sendall(head)  # ...and the rest never comes while the PUTs below run
            time.sleep(0.5)
            for i in range(3):  # 3 x 2 MiB: with 7 MiB of the 8 held, each would be 503 SlowDown
                s3.put_object(Bucket="room", Key=f"k{i}", Body=b"x" * (2 * MiB))
            trickle.settimeout(0.2)
            try:
                assert trickle.recv(100) == b""  # no answer yet: still waiting for the form's fields
            except TimeoutError:
                pass
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="room")["Contents"]] == ["k0", "k1", "k2"]


def test_plain_put_reserves_its_content_length_whatever_its_decoded_length_says(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--cache-max-bytes", "8M") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket="room")
        target, headers = rawhttp.sign(
            gw.s3d.endpoint, "PUT", "/room/big", access_key=gw.s3d.access_key, secret_key=gw.s3d.secret_key,
            payload_hash="UNSIGNED-PAYLOAD",
            headers={"Content-Length": str(7 * MiB), "x-amz-decoded-content-length": "0"},  # not aws-chunked
        )  # fmt: skip
        with socket.create_connection(("127.0.0.1", gw.s3d.port), timeout=30) as trickle:
            trickle.sendall(rawhttp.head_bytes("PUT", target, headers) + b"x" * 1024)  # the rest never comes
            time.sleep(0.5)
            with pytest.raises(ClientError) as e:  # 7 MiB of the 8 are held for it
                s3.put_object(Bucket="room", Key="small", Body=b"x" * (2 * MiB))
        assert e.value.response["Error"]["Code"] == "SlowDown"
