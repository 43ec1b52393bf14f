"""Gateway mode with versioning: the remote follows the sequence of current states."""

from __future__ import annotations

import time
from pathlib import Path

from tests.gateway.conftest import Gateway, own_gateway
from tests.gateway.test_shipping import remote_state


def test_remote_follows_current_version(rclone_gateway: Gateway) -> None:
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="vers")
    s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="vers", Key="k", Body=b"one" * 30_000)["VersionId"]
    v2 = s3.put_object(Bucket="vers", Key="k", Body=b"two")["VersionId"]
    assert gw.flush()["flushed"]
    assert remote_state(gw, "vers") == {"k": b"two"}

    s3.delete_object(Bucket="vers", Key="k", VersionId=v2)  # the older version is current again
    assert gw.flush()["flushed"]
    assert remote_state(gw, "vers") == {"k": b"one" * 30_000}

    marker = s3.delete_object(Bucket="vers", Key="k")["VersionId"]  # a delete marker: a delete ships
    assert gw.flush()["flushed"]
    assert remote_state(gw, "vers") == {}
    assert s3.get_object(Bucket="vers", Key="k", VersionId=v1)["Body"].read() == b"one" * 30_000

    s3.delete_object(Bucket="vers", Key="k", VersionId=marker)  # the marker goes: the object ships again
    assert gw.flush()["flushed"]
    assert remote_state(gw, "vers") == {"k": b"one" * 30_000}
    assert s3.get_object(Bucket="vers", Key="k")["VersionId"] == v1


def test_noncurrent_versions_count_as_local_data(rclone_gateway: Gateway) -> None:
    gw = rclone_gateway
    s3 = gw.client()
    s3.create_bucket(Bucket="vers")
    s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="vers", Key="k", Body=b"a" * 100_000)
    s3.put_object(Bucket="vers", Key="k", Body=b"b" * 10)
    assert gw.flush()["flushed"]
    assert gw.status()["dirty_bytes"] == 100_000  # the noncurrent version; the shipped current one is clean


def test_lifecycle_expirations_ship(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--lifecycle-day-seconds", "1") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket="exp")
        s3.put_object(Bucket="exp", Key="tmp/a", Body=b"a")
        s3.put_object(Bucket="exp", Key="keep", Body=b"k")
        assert gw.flush()["flushed"]
        assert remote_state(gw, "exp") == {"tmp/a": b"a", "keep": b"k"}
        s3.put_bucket_lifecycle_configuration(
            Bucket="exp",
            LifecycleConfiguration={
                "Rules": [{"ID": "t", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]
            },
        )
        deadline = time.monotonic() + 30
        while "Contents" in s3.list_objects_v2(Bucket="exp", Prefix="tmp/") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert gw.flush()["flushed"]
        assert remote_state(gw, "exp") == {"keep": b"k"}
