"""Gateway mode on an erasure-coded pool: what ships is read through the pool, cached remote blocks live in it,
and both survive the loss of M drives."""

from __future__ import annotations

import io
import os
from pathlib import Path

from boto3.s3.transfer import TransferConfig

from tests.erasure.conftest import M, pool_args, wait_for, wipe
from tests.erasure.test_metadata import dump
from tests.gateway.conftest import gateway_on
from tests.support.remotes import RCLONE, RemoteServer

MiB = 1024 * 1024


def test_a_gateway_on_a_pool_ships_reads_through_and_survives_m_lost_drives(tmp_path: Path) -> None:
    drives = [tmp_path / f"drive{i}" for i in range(6)]
    remote = RemoteServer(RCLONE, tmp_path / "remote-root").start()
    try:
        with gateway_on(tmp_path / "gw", remote, *pool_args(drives)) as gw:
            s3, rc = gw.client(), remote.client()
            s3.create_bucket(Bucket="edge")
            bodies = {"small": b"inline bytes", "blob": os.urandom(3 * MiB + 17), "mp": os.urandom(11 * MiB)}
            s3.put_object(Bucket="edge", Key="small", Body=bodies["small"])
            s3.put_object(Bucket="edge", Key="blob", Body=bodies["blob"], ServerSideEncryption="AES256")
            s3.upload_fileobj(
                io.BytesIO(bodies["mp"]), "edge", "mp", Config=TransferConfig(multipart_threshold=5 * MiB)
            )
            assert gw.flush()["flushed"]
            for key, body in bodies.items():
                assert rc.get_object(Bucket="edge", Key=key)["Body"].read() == body, key
            assert dump(gw.s3d.data / "meta.db")["ship_state"]  # the shipper's own writes reach the mirrors too
            wait_for(  # the shipper publishes its state now and then: compare between two of its commits
                lambda: all(dump(d / "meta" / "meta.db") == dump(gw.s3d.data / "meta.db") for d in drives[:M]),
                "the mirrors to hold the primary's rows",
            )
            from_remote = os.urandom(5 * MiB + 3)
            rc.put_object(Bucket="edge", Key="remote-only", Body=from_remote)
            assert s3.get_object(Bucket="edge", Key="remote-only")["Body"].read() == from_remote  # now cached
            for d in drives[:M]:
                wipe(d)
            remote.pause()  # the cached copy must come from the pool, not the remote
            try:
                assert s3.get_object(Bucket="edge", Key="remote-only")["Body"].read() == from_remote
                for key, body in bodies.items():
                    assert s3.get_object(Bucket="edge", Key=key)["Body"].read() == body, key
            finally:
                remote.resume()
    finally:
        remote.stop()
