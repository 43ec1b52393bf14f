"""Early parts: the parts of a multipart upload in progress reach the remote while the client still sends the
rest (gateway/early_parts.py); nothing shows there as an object before the shipper completes it.

Against moto, which keeps multipart uploads and checks part ETags on completion as AWS does.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.gateway.conftest import Gateway, start_gateway
from tests.support.proxy import CountingProxy
from tests.support.remotes import MOTO, Remote, RemoteServer

MiB = 1024 * 1024
WAIT = 20.0  # seconds allowed for the shipper to act on a part or an abort


def remote_uploads(gw: Gateway, bucket: str) -> list[dict[str, Any]]:
    try:
        return list(gw.remote.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []))
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchBucket":
            return []  # the shipper has not made the bucket there yet
        raise


def remote_part_numbers(gw: Gateway, bucket: str) -> list[int]:
    """The part numbers held by the remote's multipart uploads of a bucket, all uploads together."""
    rc = gw.remote.client()
    out = []
    for u in remote_uploads(gw, bucket):
        out += [
            p["PartNumber"] for p in rc.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts", [])
        ]
    return sorted(out)


def wait_for(what: Any, want: Any) -> None:
    deadline = time.monotonic() + WAIT
    got = what()
    while got != want and time.monotonic() < deadline:
        time.sleep(0.1)
        got = what()
    assert got == want


def part(s3, bucket: str, key: str, uid: str, n: int, body: bytes) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "PartNumber": n,
        "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=body)["ETag"],
    }


@dataclass
class Via:
    """The remote as s3d sees it: through a counting proxy."""

    remote: Remote
    proxy: CountingProxy

    @property
    def url(self) -> str:
        return self.proxy.url

    def env(self) -> dict[str, str]:
        return self.remote.env()


def test_parts_reach_the_remote_before_the_upload_completes_and_are_sent_once(tmp_path: Path) -> None:
    remote = RemoteServer(MOTO, tmp_path / "moto-root").start()
    proxy = CountingProxy(remote.port).start()
    gw = Gateway(start_gateway(tmp_path, Via(remote, proxy)), remote)  # type: ignore[arg-type]
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="early")
        assert gw.flush()["flushed"]
        bodies = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1000)]
        uid = s3.create_multipart_upload(Bucket="early", Key="big", ContentType="video/mp4")["UploadId"]
        done = [part(s3, "early", "big", uid, n, b) for n, b in enumerate(bodies[:2], 1)]
        wait_for(lambda: remote_part_numbers(gw, "early"), [1, 2])
        assert "Contents" not in remote.client().list_objects_v2(Bucket="early")  # no object before the Complete
        done.append(part(s3, "early", "big", uid, 3, bodies[2]))
        etag = s3.complete_multipart_upload(Bucket="early", Key="big", UploadId=uid, MultipartUpload={"Parts": done})[
            "ETag"
        ]
        assert gw.flush()["flushed"]
        got = remote.client().get_object(Bucket="early", Key="big")
        assert got["Body"].read() == b"".join(bodies)
        assert got["ETag"] == etag
        assert got["ContentType"] == "video/mp4"
        assert remote_uploads(gw, "early") == []
        sent = [p for m, p in list(proxy.requests) if m == "PUT" and "/early/big?" in p and "partNumber=" in p]
        assert len(sent) == len(bodies)  # the shipper completed the early upload: no part went twice
    finally:
        gw.s3d.stop()
        proxy.stop()
        remote.stop()


def test_a_part_sent_again_ships_its_last_bytes(moto_gateway: Gateway) -> None:
    gw = moto_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="again")
    uid = s3.create_multipart_upload(Bucket="again", Key="k")["UploadId"]
    part(s3, "again", "k", uid, 1, os.urandom(5 * MiB))
    wait_for(lambda: remote_part_numbers(gw, "again"), [1])
    final = [os.urandom(5 * MiB), os.urandom(10)]
    done = [part(s3, "again", "k", uid, n, b) for n, b in enumerate(final, 1)]
    s3.complete_multipart_upload(Bucket="again", Key="k", UploadId=uid, MultipartUpload={"Parts": done})
    assert gw.flush()["flushed"]
    assert gw.remote.client().get_object(Bucket="again", Key="k")["Body"].read() == b"".join(final)
    assert remote_uploads(gw, "again") == []


def test_an_aborted_upload_is_aborted_on_the_remote(moto_gateway: Gateway) -> None:
    gw = moto_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="gone")
    uid = s3.create_multipart_upload(Bucket="gone", Key="k")["UploadId"]
    part(s3, "gone", "k", uid, 1, os.urandom(5 * MiB))
    wait_for(lambda: remote_part_numbers(gw, "gone"), [1])
    s3.abort_multipart_upload(Bucket="gone", Key="k", UploadId=uid)
    wait_for(lambda: remote_uploads(gw, "gone"), [])
    assert gw.flush()["flushed"]
    assert "Contents" not in gw.remote.client().list_objects_v2(Bucket="gone")


def test_an_upload_held_by_its_tag_sends_nothing_early(moto_gateway: Gateway) -> None:
    gw = moto_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="held")
    assert gw.flush()["flushed"]
    uid = s3.create_multipart_upload(Bucket="held", Key="k", Tagging="s3d.upload=false")["UploadId"]
    done = [part(s3, "held", "k", uid, 1, os.urandom(5 * MiB))]
    time.sleep(1.0)  # several looks at the parts table: the part must still be here only
    assert remote_uploads(gw, "held") == []
    s3.complete_multipart_upload(Bucket="held", Key="k", UploadId=uid, MultipartUpload={"Parts": done})
    assert gw.flush()["flushed"]
    assert "Contents" not in gw.remote.client().list_objects_v2(Bucket="held")


def test_kill9_mid_upload_then_complete_after_restart(moto_gateway: Gateway, tmp_path: Path) -> None:
    gw = moto_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="crash")
    bodies = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(3000)]
    uid = s3.create_multipart_upload(Bucket="crash", Key="k")["UploadId"]
    done = [part(s3, "crash", "k", uid, n, b) for n, b in enumerate(bodies[:2], 1)]
    wait_for(lambda: remote_part_numbers(gw, "crash"), [1, 2])
    gw.s3d.kill9()
    gw.s3d = start_gateway(tmp_path, gw.remote, port=gw.s3d.port)
    s3 = gw.client()
    done.append(part(s3, "crash", "k", uid, 3, bodies[2]))
    s3.complete_multipart_upload(Bucket="crash", Key="k", UploadId=uid, MultipartUpload={"Parts": done})
    assert gw.flush()["flushed"]
    assert gw.remote.client().get_object(Bucket="crash", Key="k")["Body"].read() == b"".join(bodies)
    assert s3.get_object(Bucket="crash", Key="k")["Body"].read() == b"".join(bodies)
