"""The /_s3d/ admin API shows and acts on the caller's own buckets; only an admin user reaches everything."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from s3d.config import ConfigError, load
from tests.access.conftest import arn, user_arn
from tests.conftest import client_for
from tests.gateway.conftest import own_gateway, start_gateway
from tests.observe.scrape import fetch
from tests.support.admin import admin
from tests.support.remotes import RCLONE, RemoteServer
from tests.support.server import S3dProcess

USERS = """
[[users]]
name = "alice"
access_key = "AKALICE"
secret_key = "alice-secret-key-0123456789"
[[users]]
name = "bob"
access_key = "AKBOB"
secret_key = "bob-secret-key-0123456789"
[[users]]
name = "carol"
access_key = "AKCAROL"
secret_key = "carol-secret-key-0123456789"
admin = true
"""
PRIVATE = "alice-payroll"  # a bucket name only alice and an admin may learn
KEYS = {
    "alice": ("AKALICE", "alice-secret-key-0123456789"),
    "bob": ("AKBOB", "bob-secret-key-0123456789"),
    "carol": ("AKCAROL", "carol-secret-key-0123456789"),
}


def _config(tmp_path: Path) -> Path:
    p = tmp_path / "s3d.toml"
    p.write_text(USERS)
    return p


def _as(proc: S3dProcess, who: str, method: str, path: str) -> tuple[int, Any]:
    ak, sk = KEYS[who]
    return admin(proc.endpoint, ak, sk, method, path, timeout=60)


@pytest.fixture(scope="module")
def users_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    tmp = tmp_path_factory.mktemp("s3d-users")
    proc = S3dProcess(tmp / "data", workers=1, args=["--config", str(_config(tmp))]).start()
    for who, bucket in (("alice", "alice-private"), ("bob", "bob-private")):
        s3 = client_for(proc.endpoint, *KEYS[who])
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="secret-key-name", Body=b"x" * (10 if who == "alice" else 20))
    yield proc
    proc.stop()


def test_status_shows_only_own_buckets(users_server: S3dProcess) -> None:
    code, body = _as(users_server, "bob", "GET", "/_s3d/status")
    assert code == 200
    assert [b["name"] for b in body["buckets"]] == ["bob-private"]
    assert (body["objects"], body["bytes"]) == (1, 20)


def test_status_of_an_admin_user_shows_every_bucket(users_server: S3dProcess) -> None:
    code, body = _as(users_server, "carol", "GET", "/_s3d/status")
    assert code == 200
    assert {b["name"]: b["owner"] for b in body["buckets"]} == {"alice-private": "alice", "bob-private": "bob"}
    assert (body["objects"], body["bytes"]) == (2, 30)


def test_the_operators_environment_key_is_admin(users_server: S3dProcess) -> None:
    code, body = admin(users_server.endpoint, users_server.access_key, users_server.secret_key, "GET", "/_s3d/status")
    assert code == 200 and len(body["buckets"]) == 2


def test_metrics_carry_no_bucket_or_key_names(users_server: S3dProcess) -> None:
    status, text = fetch(users_server.endpoint)
    assert status == 200
    assert "alice-private" not in text and "bob-private" not in text and "secret-key-name" not in text


def test_an_admin_may_ask_why_about_any_users_object(users_server: S3dProcess) -> None:
    code, body = _as(users_server, "carol", "GET", "/_s3d/filter/why?bucket=alice-private&key=secret-key-name")
    assert code == 200, body
    assert body["key"] == "secret-key-name"


def test_a_bucket_policy_does_not_open_filter_why_to_another_user(users_server: S3dProcess) -> None:
    """The admin API reaches a user's own buckets (admin.scope), whatever a bucket policy grants on the S3 API."""
    alice = client_for(users_server.endpoint, *KEYS["alice"])
    alice.create_bucket(Bucket="alice-shared")
    alice.put_object(Bucket="alice-shared", Key="k", Body=b"x")
    statement = {"Effect": "Allow", "Principal": {"AWS": user_arn("bob")}, "Action": "s3:*",
                 "Resource": [arn("alice-shared"), arn("alice-shared", "*")]}  # fmt: skip
    alice.put_bucket_policy(Bucket="alice-shared", Policy=json.dumps({"Statement": [statement]}))
    try:
        code, body = _as(users_server, "bob", "GET", "/_s3d/filter/why?bucket=alice-shared&key=k")
        assert code == 403 and b"AccessDenied" in body
    finally:
        alice.delete_object(Bucket="alice-shared", Key="k")
        alice.delete_bucket_policy(Bucket="alice-shared")
        alice.delete_bucket(Bucket="alice-shared")


def test_admin_flag_must_be_a_boolean(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text('[[users]]\naccess_key = "A"\nsecret_key = "s"\nadmin = "yes"\n')
    with pytest.raises(ConfigError, match="admin"):
        load({"config": str(p)}, env={})


def test_configured_users_are_not_admins_unless_flagged(tmp_path: Path) -> None:
    s = load({"config": str(_config(tmp_path))}, env={})
    assert {u.name: u.admin for u in s.users} == {"alice": False, "bob": False, "carol": True}


def test_gateway_admin_endpoints_act_only_on_own_buckets(tmp_path: Path) -> None:
    # with the prefix, a 60-character local bucket name is 64 characters on the remote: a record that fails for good
    doomed = "a" * 60
    cfg = _config(tmp_path)
    with own_gateway(tmp_path, "--remote-bucket-prefix", "pre-", "--config", str(cfg)) as gw:
        bob = client_for(gw.s3d.endpoint, *KEYS["bob"])
        bob.create_bucket(Bucket="bobs")
        bob.put_object(Bucket="bobs", Key="k", Body=b"bob's")
        alice = client_for(gw.s3d.endpoint, *KEYS["alice"])
        alice.create_bucket(Bucket=doomed)
        alice.put_object(Bucket=doomed, Key="k", Body=b"alice's")
        deadline = time.monotonic() + 30
        while _as(gw.s3d, "alice", "GET", "/_s3d/queue")[1]["failed_records"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)

        code, q = _as(gw.s3d, "bob", "GET", "/_s3d/queue")
        assert code == 200 and (q["failed"], q["failed_records"]) == ([], 0)
        code, st = _as(gw.s3d, "bob", "GET", "/_s3d/status")
        assert [b["name"] for b in st["buckets"]] == ["bobs"] and st["failed_records"] == 0
        for action in ("discard", "retry"):
            code, body = _as(gw.s3d, "bob", "POST", f"/_s3d/queue/{action}?bucket={doomed}&key=k")
            assert code == 403 and b"AccessDenied" in body, action
        for action in ("pin", "prefetch"):
            code, body = _as(gw.s3d, "bob", "POST", f"/_s3d/{action}?bucket={doomed}")
            assert code == 403 and b"AccessDenied" in body, action
        code, body = _as(gw.s3d, "bob", "POST", f"/_s3d/flush?bucket={doomed}&timeout=1")
        assert code == 403 and b"AccessDenied" in body
        code, body = _as(gw.s3d, "bob", "POST", "/_s3d/flush?timeout=30")  # bob's buckets only: not stuck
        assert code == 200 and body["flushed"] is True

        code, q = _as(gw.s3d, "alice", "GET", "/_s3d/queue")  # still alice's to see and decide on
        assert code == 200 and [(f["bucket"], f["key"]) for f in q["failed"]] == [(doomed, "k")]
        code, q = _as(gw.s3d, "carol", "GET", "/_s3d/queue")
        assert code == 200 and q["failed_records"] == 1
        code, _ = _as(gw.s3d, "carol", "POST", f"/_s3d/queue/discard?bucket={doomed}&key=k")
        assert code == 200
        assert _as(gw.s3d, "alice", "GET", "/_s3d/queue")[1]["failed_records"] == 0


@pytest.fixture(scope="module")
def down_remote_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3dProcess]:
    """A gateway whose remote went away while alice's write was shipping: its error names her bucket."""
    tmp = tmp_path_factory.mktemp("s3d-down-remote")
    remote = RemoteServer(RCLONE, tmp / "root").start()
    proc = start_gateway(tmp, remote, "--config", str(_config(tmp)))
    alice = client_for(proc.endpoint, *KEYS["alice"])
    alice.create_bucket(Bucket=PRIVATE)
    deadline = time.monotonic() + 30
    while _as(proc, "carol", "GET", "/_s3d/status")[1]["remote_reachable"] is not True:
        assert time.monotonic() < deadline, "the remote never became reachable"
        time.sleep(0.1)
    remote.stop()
    alice.put_object(Bucket=PRIVATE, Key="salaries.xlsx", Body=b"x")
    while PRIVATE not in str(_as(proc, "carol", "GET", "/_s3d/status")[1]["remote_error"]):
        assert time.monotonic() < deadline + 30, "the remote's error never named the bucket"
        time.sleep(0.1)
    yield proc
    proc.stop()


def test_readiness_names_no_bucket_and_no_remote(down_remote_gateway: S3dProcess) -> None:
    with urllib.request.urlopen(down_remote_gateway.endpoint + "/_s3d/ready", timeout=30) as r:
        body = json.loads(r.read())
    assert body["ready"] is True and body["remote_reachable"] is False
    assert PRIVATE not in json.dumps(body)
    assert "127.0.0.1" not in json.dumps(body)  # nor where the remote is


def test_a_users_status_names_no_other_users_bucket(down_remote_gateway: S3dProcess) -> None:
    code, body = _as(down_remote_gateway, "bob", "GET", "/_s3d/status")
    assert code == 200 and body["remote_reachable"] is False
    assert body["remote_error"] == "EndpointConnectionError"  # what went wrong, without the URL it named
    assert PRIVATE not in json.dumps(body)


def test_an_admins_status_gives_the_remotes_whole_error(down_remote_gateway: S3dProcess) -> None:
    code, body = _as(down_remote_gateway, "carol", "GET", "/_s3d/status")
    assert code == 200 and PRIVATE in body["remote_error"]
