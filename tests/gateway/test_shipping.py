"""Gateway mode: every local change reaches the remote, in the right final state, through faults.

Against every kind of remote that can hold the state checked (on_remotes): the round trip with tags and the
multipart ETag (moto and Ceph RGW keep both; rclone keeps neither), the outage (remote killed with SIGKILL while
writing, then restarted), the hung remote, and kill -9 of s3d while shipping. The rest run against one remote.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from s3d.user_metadata import decode
from tests.api.test_user_metadata import B_WORD, Q_WORD, TEXT
from tests.gateway.conftest import Gateway, gateway_on, own_gateway, start_gateway
from tests.support.remotes import MOTO, RCLONE, RGW, Remote, on_remotes

MiB = 1024 * 1024
READ_TIMEOUT = 2  # seconds s3d waits for a remote answer in the hung-remote test (60 by default)
SETTLE = 2.0  # seconds for a remote to act on requests it took in while hung, before its state is read again


def remote_state(gw: Gateway, bucket: str) -> dict[str, bytes]:
    rc = gw.remote.client()
    out = {}
    for page in rc.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = rc.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


def local_state(s3, bucket: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


class HwmSampler:
    """Samples HWM and LSN from /_s3d/status in the background; checks HWM <= LSN and never decreases."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.samples: list[tuple[int, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                st = self.gw.status()
                self.samples.append((st["hwm"], st["lsn"]))
            except Exception:  # noqa: BLE001 - the daemon may be restarting
                pass
            time.sleep(0.05)

    def __enter__(self) -> HwmSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        assert self.samples, "no status samples taken"
        hwms = [h for h, _ in self.samples]
        assert all(h <= lsn for h, lsn in self.samples), "HWM passed LSN"
        assert hwms == sorted(hwms), "HWM went backwards"


@on_remotes(MOTO, RGW)
def test_round_trip_keeps_bytes_metadata_tags_and_etag(gateway: Gateway) -> None:
    s3 = gateway.client()
    s3.create_bucket(Bucket="photos")
    body = os.urandom(200_000)
    r = s3.put_object(Bucket="photos", Key="a/cat.jpg", Body=body, ContentType="image/jpeg",
                      Metadata={"camera": "x100"}, Tagging="team=edge")  # fmt: skip
    assert gateway.flush()["flushed"]
    rc = gateway.remote.client()
    got = rc.get_object(Bucket="photos", Key="a/cat.jpg")
    assert got["Body"].read() == body
    assert got["ETag"] == r["ETag"]
    assert got["ContentType"] == "image/jpeg"
    assert got["Metadata"] == {"camera": "x100"}
    assert rc.get_object_tagging(Bucket="photos", Key="a/cat.jpg")["TagSet"] == [{"Key": "team", "Value": "edge"}]


def test_non_ascii_metadata_ships_encoded_and_reads_back_decoded(moto_gateway: Gateway) -> None:
    """User metadata is stored decoded: it ships RFC 2047 encoded (botocore sends only ASCII), and what the remote
    answers is decoded, so a value keeps its text both ways (docs/compatibility.md, User metadata)."""
    s3, rc = moto_gateway.client(), moto_gateway.remote.client()
    s3.create_bucket(Bucket="meta")
    s3.put_object(Bucket="meta", Key="ours", Body=b"x", Metadata={"m": Q_WORD})
    assert moto_gateway.flush()["flushed"]
    assert decode(rc.head_object(Bucket="meta", Key="ours")["Metadata"]["m"]) == TEXT
    rc.put_object(Bucket="meta", Key="theirs", Body=b"y", Metadata={"m": Q_WORD})
    assert s3.head_object(Bucket="meta", Key="theirs")["Metadata"] == {"m": B_WORD}


@on_remotes(MOTO, RGW)
def test_multipart_object_ships_with_same_parts_and_etag(gateway: Gateway) -> None:
    s3 = gateway.client()
    s3.create_bucket(Bucket="big")
    parts = [os.urandom(5 * MiB), os.urandom(123)]
    uid = s3.create_multipart_upload(Bucket="big", Key="mp")["UploadId"]
    done = [{"PartNumber": i, "ETag": s3.upload_part(Bucket="big", Key="mp", UploadId=uid, PartNumber=i, Body=p)["ETag"]}
            for i, p in enumerate(parts, 1)]  # fmt: skip
    local_etag = s3.complete_multipart_upload(Bucket="big", Key="mp", UploadId=uid, MultipartUpload={"Parts": done})[
        "ETag"
    ]
    assert gateway.flush()["flushed"]
    head = gateway.remote.client().head_object(Bucket="big", Key="mp")
    assert head["ETag"] == local_etag
    assert gateway.remote.client().get_object(Bucket="big", Key="mp")["Body"].read() == b"".join(parts)
    code, q = gateway.admin("GET", "/_s3d/queue")
    assert code == 200 and q["notes"] == [] and q["failed_records"] == 0  # no difference recorded


def test_tag_change_ships_tags(moto_gateway: Gateway) -> None:
    s3 = moto_gateway.client()
    s3.create_bucket(Bucket="tags")
    s3.put_object(Bucket="tags", Key="k", Body=b"x")
    moto_gateway.flush()
    s3.put_object_tagging(Bucket="tags", Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    moto_gateway.flush()
    assert moto_gateway.remote.client().get_object_tagging(Bucket="tags", Key="k")["TagSet"] == [
        {"Key": "a", "Value": "b"}
    ]


def test_upload_false_tag_keeps_object_local_until_true(moto_gateway: Gateway) -> None:
    s3 = moto_gateway.client()
    s3.create_bucket(Bucket="held")
    s3.put_object(Bucket="held", Key="secret", Body=b"local only", Tagging="s3d.upload=false")
    assert moto_gateway.flush()["flushed"]
    rc = moto_gateway.remote.client()
    with pytest.raises(ClientError):
        rc.head_object(Bucket="held", Key="secret")
    s3.put_object_tagging(Bucket="held", Key="secret", Tagging={"TagSet": [{"Key": "s3d.upload", "Value": "true"}]})
    assert moto_gateway.flush()["flushed"]
    assert rc.get_object(Bucket="held", Key="secret")["Body"].read() == b"local only"


def test_rclone_remote_differences_are_recorded_not_retried_forever(rclone_gateway: Gateway) -> None:
    """rclone serve s3 keeps neither tags nor multipart ETags: s3d ships the bytes and notes the rest."""
    s3 = rclone_gateway.client()
    s3.create_bucket(Bucket="mpr")
    s3.put_object(Bucket="mpr", Key="tagged", Body=b"t", Tagging="a=1")
    uid = s3.create_multipart_upload(Bucket="mpr", Key="mp")["UploadId"]
    parts = [b"a" * (5 * MiB), b"b"]
    done = [{"PartNumber": i, "ETag": s3.upload_part(Bucket="mpr", Key="mp", UploadId=uid, PartNumber=i, Body=p)["ETag"]}
            for i, p in enumerate(parts, 1)]  # fmt: skip
    s3.complete_multipart_upload(Bucket="mpr", Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
    assert rclone_gateway.flush()["flushed"]
    assert rclone_gateway.remote.client().get_object(Bucket="mpr", Key="mp")["Body"].read() == b"".join(parts)
    code, q = rclone_gateway.admin("GET", "/_s3d/queue")
    assert code == 200 and q["failed_records"] == 0
    notes = {n["key"]: n["note"] for n in q["notes"]}
    assert "ETag" in notes["mp"]
    assert "tags" in notes["tagged"]
    assert rclone_gateway.remote.client().get_object(Bucket="mpr", Key="tagged")["Body"].read() == b"t"
    assert rclone_gateway.status()["hwm"] == rclone_gateway.status()["lsn"]


@on_remotes(RCLONE, RGW)
def test_remote_down_while_writing_then_back(gateway: Gateway) -> None:
    gw = gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="outage")
    gw.flush()
    gw.remote.stop()
    expected: dict[str, bytes] = {}
    with HwmSampler(gw):
        for i in range(500):
            key = f"k{i % 200}"
            if i % 7 == 3 and key in expected:
                s3.delete_object(Bucket="outage", Key=key)
                del expected[key]
            else:
                body = hashlib.sha256(b"%d" % i).digest() * (1 + i % 5)
                s3.put_object(Bucket="outage", Key=key, Body=body)
                expected[key] = body
        st = gw.status()
        assert st["pending_records"] > 0 and st["hwm"] < st["lsn"]
        deadline = time.monotonic() + 30
        while gw.status()["remote_reachable"] is not False and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gw.status()["remote_reachable"] is False
        assert local_state(s3, "outage") == expected  # local service goes on
        gw.remote.start()
        assert gw.flush(timeout=90)["flushed"]
    assert remote_state(gw, "outage") == expected
    st = gw.status()
    assert st["pending_records"] == 0 and st["hwm"] == st["lsn"] and st["remote_reachable"] is True


@on_remotes(RCLONE, RGW)
def test_hung_remote_past_the_read_timeout_then_back(remote_server: Remote, tmp_path: Path) -> None:
    """The remote stops answering (SIGSTOP) for longer than s3d waits; once it answers again (SIGCONT) it holds
    exactly the local state: no write lost, no delete undone by a request it took in while hung."""
    with gateway_on(tmp_path, remote_server, env={"S3D_REMOTE_READ_TIMEOUT": str(READ_TIMEOUT)}) as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket="hung")
        for key in ("gone", "k3"):
            s3.put_object(Bucket="hung", Key=key, Body=b"old " + key.encode())
        assert gw.flush()["flushed"]
        gw.remote.pause()
        try:
            expected: dict[str, bytes] = {}
            for i in range(60):
                key = f"k{i % 20}"
                expected[key] = hashlib.sha256(b"%d" % i).digest() * (1 + i % 3)
                s3.put_object(Bucket="hung", Key=key, Body=expected[key])
            for key in ("gone", "k3"):
                s3.delete_object(Bucket="hung", Key=key)
                expected.pop(key, None)
            deadline = time.monotonic() + 60
            while gw.status()["remote_reachable"] is not False and time.monotonic() < deadline:
                time.sleep(0.1)
            st = gw.status()
            assert st["remote_reachable"] is False and st["hwm"] < st["lsn"]  # its calls timed out
            assert local_state(s3, "hung") == expected
        finally:
            gw.remote.resume()
        assert gw.flush(timeout=90)["flushed"]
        assert remote_state(gw, "hung") == expected
        time.sleep(SETTLE)  # requests it took in while hung and carried out late were checked for and repaired
        assert remote_state(gw, "hung") == expected


@on_remotes(RCLONE, RGW)
def test_kill9_during_shipping_then_restart(gateway: Gateway, tmp_path: Path) -> None:
    gw = gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="crash")
    expected = {}
    for i in range(300):
        body = os.urandom(2000 + i)
        s3.put_object(Bucket="crash", Key=f"k{i % 150}", Body=body)
        expected[f"k{i % 150}"] = body
    hwm_before = gw.status()["hwm"]
    gw.s3d.kill9()
    gw.s3d = start_gateway(tmp_path, gw.remote, port=gw.s3d.port)
    assert gw.status()["hwm"] >= hwm_before
    assert gw.flush(timeout=90)["flushed"]
    assert remote_state(gw, "crash") == expected
    assert local_state(gw.client(), "crash") == expected


def test_sigterm_drains_the_queue(rclone_gateway: Gateway) -> None:
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="drain")
    expected = {f"k{i}": os.urandom(10_000) for i in range(100)}
    for k, v in expected.items():
        s3.put_object(Bucket="drain", Key=k, Body=v)
    assert gw.s3d.stop() == 0
    log = (gw.s3d.data.parent / f"s3d-{gw.s3d.port}.log").read_text()
    assert "queue drained" in log
    assert remote_state(gw, "drain") == expected


def test_sigterm_with_remote_down_reports_pending(tmp_path: Path, rclone_gateway: Gateway) -> None:
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="stuck")
    gw.flush()
    gw.remote.stop()
    s3.put_object(Bucket="stuck", Key="k", Body=b"pending")
    gw.s3d.env_extra = {**gw.s3d.env_extra}
    gw.s3d.stop()
    log = (gw.s3d.data.parent / f"s3d-{gw.s3d.port}.log").read_text()
    assert "not yet shipped" in log
    # nothing is lost: the next start ships it
    gw.remote.start()
    gw.s3d = start_gateway(tmp_path, gw.remote, port=gw.s3d.port)
    assert gw.flush(timeout=60)["flushed"]
    assert gw.remote.client().get_object(Bucket="stuck", Key="k")["Body"].read() == b"pending"


def test_permanently_rejected_record_is_kept_and_reported(tmp_path: Path) -> None:
    # with the prefix, a 60-character local bucket name is 64 characters on the remote: 400 InvalidBucketName
    doomed = "d" * 60
    with own_gateway(tmp_path, "--remote-bucket-prefix", "pre-") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=doomed)
        s3.create_bucket(Bucket="fine")
        s3.put_object(Bucket=doomed, Key="k", Body=b"keep me")
        s3.put_object(Bucket="fine", Key="k", Body=b"ships")
        deadline = time.monotonic() + 30
        while gw.status()["failed_records"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        code, q = gw.admin("GET", "/_s3d/queue")
        assert code == 200 and q["failed_records"] == 1
        assert q["failed"][0]["key"] == "k" and q["failed"][0]["error"]["status"] == 400
        assert s3.get_object(Bucket=doomed, Key="k")["Body"].read() == b"keep me"
        st = gw.status()
        assert st["hwm"] < st["lsn"]
        # other buckets keep shipping past the stuck record
        code, body = gw.admin("POST", "/_s3d/flush?bucket=fine&timeout=30")
        assert code == 200 and body["flushed"]
        assert gw.remote.client().get_object(Bucket="pre-fine", Key="k")["Body"].read() == b"ships"
        code, body = gw.admin("POST", "/_s3d/flush?timeout=1")
        assert code == 504 and body["flushed"] is False
        # nothing is discarded except by the explicit admin command
        code, _ = gw.admin("POST", f"/_s3d/queue/discard?bucket={doomed}&key=k")
        assert code == 200
        assert gw.flush(timeout=120)["flushed"]
        assert s3.get_object(Bucket=doomed, Key="k")["Body"].read() == b"keep me"


@on_remotes(RCLONE, RGW)
def test_refused_remote_keys_keep_changes_local_until_fixed(remote_server: Remote, tmp_path: Path) -> None:
    """The remote refuses s3d's keys (403): the changes stay local, reported with the remote's error, until s3d
    runs with keys it accepts."""
    wrong = {"AWS_SECRET_ACCESS_KEY": "not-the-remote-secret-0123"}
    gw = Gateway(start_gateway(tmp_path, remote_server, env=wrong), remote_server)
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="keys")
        s3.put_object(Bucket="keys", Key="k", Body=b"kept here")
        deadline = time.monotonic() + 30
        while gw.status()["failed_records"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        code, q = gw.admin("GET", "/_s3d/queue")
        assert code == 200 and q["failed_records"] >= 1
        assert {f["error"]["status"] for f in q["failed"]} == {403}
        assert s3.get_object(Bucket="keys", Key="k")["Body"].read() == b"kept here"
        st = gw.status()
        assert st["hwm"] < st["lsn"]
        gw.s3d.kill9()  # the next start, with the right keys, ships what is pending
        gw.s3d = start_gateway(tmp_path, remote_server, port=gw.s3d.port)
        assert gw.flush(timeout=90)["flushed"]
        assert remote_state(gw, "keys") == {"k": b"kept here"}
    finally:
        gw.s3d.stop()


def test_bucket_map_renames_remote_buckets(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--remote-bucket-map", "photos=edge-photos-eu") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket="photos")
        s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
        assert gw.flush()["flushed"]
        assert gw.remote.client().get_object(Bucket="edge-photos-eu", Key="cat.jpg")["Body"].read() == b"meow"


FLUSH_TIMEOUTS_REFUSED = ["nan", "NaN", "inf", "-inf", "1e999", "-1", "3601", "", "ten"]


def test_flush_timeout_that_is_not_0_to_3600_seconds_is_invalid_argument(gateway: Gateway) -> None:
    """timeout=nan waited forever (min(nan, 3600) is nan, and no time is past a nan deadline)."""
    for timeout in FLUSH_TIMEOUTS_REFUSED:
        code, body = gateway.admin("POST", f"/_s3d/flush?timeout={timeout}", timeout=30)
        assert (code, b"<Code>InvalidArgument</Code>" in body) == (400, True), (timeout, code, body)
