"""Two daemons in front of one remote: each one's shipped writes reach the other within the stated bounds
(a GET at once or within cache_revalidate_after, a listing within remote_refresh)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.cli.conftest import cli_for
from tests.gateway.conftest import Gateway
from tests.support.fault_proxy import FaultProxy, Rule
from tests.support.remotes import MOTO, RCLONE, RGW, Remote, RemoteServer, on_remotes
from tests.support.server import S3dProcess

REVALIDATE = 1  # seconds: --cache-revalidate-after for both daemons
REFRESH = 2  # seconds: S3D_REMOTE_REFRESH


@contextmanager
def fleet(
    tmp_path: Path, remote: Remote, env: dict[str, str] | None = None, b_via: str | None = None
) -> Iterator[tuple[Gateway, Gateway]]:
    """Two daemons in front of a started remote (stopped by whoever started it); ``b_via``: the URL B reaches it by
    (a FaultProxy in front of it)."""
    started: list[S3dProcess] = []
    try:
        for name, url in (("a", remote.url), ("b", b_via or remote.url)):
            (tmp_path / name).mkdir()
            started.append(
                S3dProcess(
                    tmp_path / name / "data", workers=2,
                    env_extra={**remote.env(), "S3D_REMOTE_REFRESH": str(REFRESH), **(env or {})},
                    args=["--remote", url, "--cache-revalidate-after", str(REVALIDATE), "--drain-timeout", "5"],
                ).start()
            )  # fmt: skip
        yield Gateway(started[0], remote), Gateway(started[1], remote)
    finally:
        for p in started:
            p.stop()


def body_of(gw: Gateway, bucket: str, key: str) -> bytes:
    return gw.client().get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


@on_remotes(RCLONE, RGW)
def test_a_shipped_write_is_read_through_the_other_daemon_at_once(remote_server: Remote, tmp_path: Path) -> None:
    with fleet(tmp_path, remote_server) as (a, b):
        a.client().create_bucket(Bucket="shared")
        a.client().put_object(Bucket="shared", Key="k", Body=b"from-A")
        assert a.flush()["flushed"]
        assert body_of(b, "shared", "k") == b"from-A"


@on_remotes(RCLONE, RGW)
def test_an_overwrite_through_one_daemon_replaces_the_others_shipped_copy(
    remote_server: Remote, tmp_path: Path
) -> None:
    with fleet(tmp_path, remote_server) as (a, b):
        a.client().create_bucket(Bucket="shared")
        a.client().put_object(Bucket="shared", Key="k", Body=b"from-A")
        assert a.flush()["flushed"]
        assert body_of(b, "shared", "k") == b"from-A"
        b.client().put_object(Bucket="shared", Key="k", Body=b"from-B")
        assert b.flush()["flushed"]
        time.sleep(REVALIDATE + 0.5)
        r = a.client().get_object(Bucket="shared", Key="k")
        assert r["Body"].read() == b"from-B"
        assert r["ResponseMetadata"]["HTTPHeaders"]["x-s3d-cache"] in ("miss", "hit")


@on_remotes(RCLONE, RGW)
def test_a_delete_through_one_daemon_reaches_the_other_within_the_revalidation_time(
    remote_server: Remote, tmp_path: Path
) -> None:
    with fleet(tmp_path, remote_server) as (a, b):
        b.client().create_bucket(Bucket="shared")
        b.client().put_object(Bucket="shared", Key="gone", Body=b"from-B")
        assert b.flush()["flushed"]
        a.client().delete_object(Bucket="shared", Key="gone")
        assert a.flush()["flushed"]
        time.sleep(REVALIDATE + 0.5)
        with pytest.raises(ClientError) as e:
            b.client().get_object(Bucket="shared", Key="gone")
        assert e.value.response["Error"]["Code"] == "NoSuchKey"


@on_remotes(RCLONE, RGW)
def test_a_new_key_shows_in_the_other_daemons_listing_within_the_refresh(remote_server: Remote, tmp_path: Path) -> None:
    with fleet(tmp_path, remote_server) as (a, b):
        a.client().create_bucket(Bucket="shared")
        assert a.flush()["flushed"]
        b.client().head_bucket(Bucket="shared")
        a.client().put_object(Bucket="shared", Key="new", Body=b"x")
        assert a.flush()["flushed"]
        deadline = time.monotonic() + 4 * REFRESH + 5
        keys: list[str] = []
        while time.monotonic() < deadline and keys != ["new"]:
            keys = [o["Key"] for o in b.client().list_objects_v2(Bucket="shared").get("Contents", [])]
            time.sleep(0.5)
        assert keys == ["new"]


@on_remotes(RCLONE, RGW)
def test_create_if_absent_through_one_daemon_sees_a_key_the_other_shipped(
    remote_server: Remote, tmp_path: Path
) -> None:
    with fleet(tmp_path, remote_server) as (a, b):
        a.client().create_bucket(Bucket="shared")
        a.client().put_object(Bucket="shared", Key="lock", Body=b"A holds it")
        assert a.flush()["flushed"]
        with pytest.raises(ClientError) as e:
            b.client().put_object(Bucket="shared", Key="lock", Body=b"B wants it", IfNoneMatch="*")
        assert e.value.response["Error"]["Code"] == "PreconditionFailed"
        assert body_of(b, "shared", "lock") == b"A holds it"


def listed_once(gw: Gateway, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while gw.status()["remote_refreshed_at"] is None:
        assert time.monotonic() < deadline, "the listing at start did not end"
        time.sleep(0.05)


def ship_one(gw: Gateway, key: str, body: bytes) -> None:
    """Through ``gw``: bucket ``shared`` with one object, flushed to the remote."""
    gw.client().create_bucket(Bucket="shared")
    gw.client().put_object(Bucket="shared", Key=key, Body=body)
    assert gw.flush()["flushed"]


def conflicting_writes(a: Gateway, b: Gateway) -> None:
    """A ships k, B reads it and overwrites it, then A writes k again without having seen B's version."""
    a.client().create_bucket(Bucket="shared")
    a.client().put_object(Bucket="shared", Key="k", Body=b"v1 from A")
    assert a.flush()["flushed"]
    assert body_of(b, "shared", "k") == b"v1 from A"
    b.client().put_object(Bucket="shared", Key="k", Body=b"v2 from B")
    assert b.flush()["flushed"]
    a.client().put_object(Bucket="shared", Key="k", Body=b"v3 from A")
    assert a.flush()["flushed"]


def conflict_events(gw: Gateway) -> float:
    text = urllib.request.urlopen(gw.s3d.endpoint + "/metrics", timeout=30).read().decode()
    for line in text.splitlines():
        if line.startswith('s3d_events_total{event="ship_conflict"}'):
            return float(line.split()[-1])
    return 0.0


@on_remotes(MOTO, RGW)
def test_a_lost_update_is_detected_and_the_last_writer_wins_by_default(remote_server: Remote, tmp_path: Path) -> None:
    with fleet(tmp_path, remote_server) as (a, b):
        conflicting_writes(a, b)
        assert a.remote.client().get_object(Bucket="shared", Key="k")["Body"].read() == b"v3 from A"
        assert conflict_events(a) == 1
        assert conflict_events(b) == 0  # B overwrote the version it had read: no conflict
        code, queue = a.admin("GET", "/_s3d/queue")
        assert any(n["key"] == "k" and n["note"].startswith("conflict") for n in queue["notes"])


@on_remotes(MOTO, RGW)
def test_remote_wins_keeps_the_other_writers_version(remote_server: Remote, tmp_path: Path) -> None:
    with fleet(tmp_path, remote_server, {"S3D_CONFLICT": "remote-wins"}) as (a, b):
        conflicting_writes(a, b)
        assert a.remote.client().get_object(Bucket="shared", Key="k")["Body"].read() == b"v2 from B"
        assert body_of(a, "shared", "k") == b"v2 from B"
        assert conflict_events(a) == 1


@on_remotes(MOTO, RGW)
def test_keep_both_ships_the_loser_under_a_derived_key(remote_server: Remote, tmp_path: Path) -> None:
    with fleet(tmp_path, remote_server, {"S3D_CONFLICT": "keep-both"}) as (a, b):
        conflicting_writes(a, b)
        rc = a.remote.client()
        assert rc.get_object(Bucket="shared", Key="k")["Body"].read() == b"v2 from B"
        derived = [o["Key"] for o in rc.list_objects_v2(Bucket="shared")["Contents"] if o["Key"] != "k"]
        assert len(derived) == 1 and derived[0].startswith("k.conflict-")
        assert rc.get_object(Bucket="shared", Key=derived[0])["Body"].read() == b"v3 from A"


@on_remotes(MOTO, RGW)
def test_a_blind_first_write_over_a_key_another_daemon_created_is_a_conflict(
    remote_server: Remote, tmp_path: Path
) -> None:
    """B never saw k (its refresh has not listed it yet): its first ship must not overwrite A's silently."""
    env = {"S3D_CONFLICT": "remote-wins", "S3D_REMOTE_REFRESH": "3600"}
    with fleet(tmp_path, remote_server, env) as (a, b):
        listed_once(b)  # its listing at start is over: the next is an hour away
        ship_one(a, "k", b"created by A")
        b.client().put_object(Bucket="shared", Key="k", Body=b"written blind by B")
        assert b.flush()["flushed"]
        assert a.remote.client().get_object(Bucket="shared", Key="k")["Body"].read() == b"created by A"
        assert body_of(b, "shared", "k") == b"created by A", b.admin("GET", "/_s3d/queue")
        assert conflict_events(b) == 1


@on_remotes(MOTO, RGW)
def test_a_new_key_ships_when_no_other_writer_created_it(remote_server: Remote, tmp_path: Path) -> None:
    with fleet(tmp_path, remote_server, {"S3D_CONFLICT": "remote-wins"}) as (a, _b):
        ship_one(a, "fresh", b"only A")
        assert a.remote.client().get_object(Bucket="shared", Key="fresh")["Body"].read() == b"only A"
        assert conflict_events(a) == 0


@on_remotes(MOTO, RGW)
def test_status_says_the_remote_detects_conflicts_when_it_honours_conditional_writes(
    remote_server: Remote, tmp_path: Path
) -> None:
    with fleet(tmp_path, remote_server) as (a, _b):
        ship_one(a, "k", b"x")
        assert a.status()["remote_conditional_writes"] is True
        assert [o["Key"] for o in a.remote.client().list_objects_v2(Bucket="shared")["Contents"]] == ["k"]


def test_status_says_conflicts_cannot_be_detected_on_a_remote_that_ignores_conditional_writes(
    tmp_path: Path,
) -> None:
    remote = RemoteServer(RCLONE, tmp_path / "remote-root").start()
    try:
        with fleet(tmp_path, remote) as (a, _b):
            ship_one(a, "k", b"x")
            assert a.status()["remote_conditional_writes"] is False
            assert [o["Key"] for o in a.remote.client().list_objects_v2(Bucket="shared")["Contents"]] == ["k"]
            shown = cli_for(a.s3d, tmp_path).ok("status").out
            assert "conflicts  cannot be detected" in shown
    finally:
        remote.stop()


@on_remotes(MOTO)
def test_a_write_over_a_key_another_daemon_deleted_ships(remote_server: Remote, tmp_path: Path) -> None:
    """B saw k, A deleted it, B writes k: its If-Match finds no key (404 NoSuchKey), which is a conflict like a 412,
    not a refusal of the write: by default B's acknowledged write ships."""
    with fleet(tmp_path, remote_server) as (a, b):
        ship_one(a, "k", b"v1 from A")
        assert body_of(b, "shared", "k") == b"v1 from A"
        a.client().delete_object(Bucket="shared", Key="k")
        assert a.flush()["flushed"]
        b.client().put_object(Bucket="shared", Key="k", Body=b"v2 from B")
        assert b.flush(timeout=20)["flushed"]
        assert a.remote.client().get_object(Bucket="shared", Key="k")["Body"].read() == b"v2 from B"
        assert conflict_events(b) == 1


@on_remotes(MOTO)
def test_a_delete_shipped_after_another_daemons_overwrite_keeps_it_when_the_remote_wins(
    remote_server: Remote, tmp_path: Path
) -> None:
    """B deletes k (the version it saw); before that delete reaches the remote, A overwrites k and ships. With
    remote-wins, B's delete must not remove A's acknowledged write: it is a conflict, and B serves A's version."""
    proxy = FaultProxy(remote_server.port).start()
    try:
        with fleet(tmp_path, remote_server, {"S3D_CONFLICT": "remote-wins"}, b_via=proxy.url) as (a, b):
            ship_one(a, "k", b"v1 from A")
            assert body_of(b, "shared", "k") == b"v1 from A"
            proxy.set_rules(Rule("/shared/k", 503, "SlowDown", method="DELETE"))  # B's delete waits
            b.client().delete_object(Bucket="shared", Key="k")
            a.client().put_object(Bucket="shared", Key="k", Body=b"v2 from A")
            assert a.flush()["flushed"]
            proxy.set_rules()
            assert b.flush()["flushed"]
            assert a.remote.client().get_object(Bucket="shared", Key="k")["Body"].read() == b"v2 from A"
            assert body_of(b, "shared", "k") == b"v2 from A"
            assert conflict_events(b) == 1
    finally:
        proxy.stop()


@on_remotes(MOTO)
def test_a_write_into_a_bucket_another_daemon_deleted_on_the_remote_ships(
    remote_server: Remote, tmp_path: Path
) -> None:
    """B shipped into bucket shared, then A deleted the (empty) bucket on the remote: B's next acknowledged write
    there must still reach the remote (B's log holds the bucket), not fail for good with NoSuchBucket."""
    with fleet(tmp_path, remote_server) as (a, b):
        ship_one(b, "first", b"from B")
        b.client().delete_object(Bucket="shared", Key="first")
        assert b.flush()["flushed"]
        a.client().head_bucket(Bucket="shared")  # read through: A knows the bucket
        a.client().delete_bucket(Bucket="shared")
        assert a.flush()["flushed"]
        assert "shared" not in [x["Name"] for x in a.remote.client().list_buckets()["Buckets"]]
        b.client().put_object(Bucket="shared", Key="second", Body=b"acknowledged by B")
        assert b.flush(timeout=20)["flushed"]
        assert a.remote.client().get_object(Bucket="shared", Key="second")["Body"].read() == b"acknowledged by B"
