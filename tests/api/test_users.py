"""Several users from a TOML config, bucket ownership, and generated credentials on first run."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.support.server import free_port, wait_http

ALICE = ("AKALICE0000000000001", "alice-secret-0123456789")
BOB = ("AKBOB00000000000000002", "bob-secret-0123456789")

CONFIG = f"""
workers = 1
[[users]]
name = "alice"
access_key = "{ALICE[0]}"
secret_key = "{ALICE[1]}"
[[users]]
name = "bob"
access_key = "{BOB[0]}"
secret_key = "{BOB[1]}"
"""


@dataclass
class Daemon:
    """An s3d started without S3D_ACCESS_KEY/S3D_SECRET_KEY, so it uses only its config or data dir."""

    data: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("S3D_")}


def start(data: Path, *args: str) -> Daemon:
    port = free_port()
    log = data.parent / f"s3d-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "s3d", "run", "--data", str(data), "--listen", f"127.0.0.1:{port}", *args],
            env=clean_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    d = Daemon(data, port, proc, log)
    try:
        wait_http(d.endpoint + "/_s3d/health", proc=proc)
    except BaseException:
        d.stop()
        raise
    return d


def s3d_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s3d", *args], env=clean_env(), capture_output=True, text=True, timeout=60
    )


def code_of(e: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


# ---------- two users from a config file ----------
@pytest.fixture(scope="module")
def two_users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("users")
    cfg = root / "s3d.toml"
    cfg.write_text(CONFIG)
    d = start(root / "data", "--config", str(cfg))
    yield d
    d.stop()


@pytest.fixture(scope="module")
def alice(two_users):  # type: ignore[no-untyped-def]
    c = client_for(two_users.endpoint, *ALICE)
    c.create_bucket(Bucket="alice-bucket")
    c.put_object(Bucket="alice-bucket", Key="diary.txt", Body=b"dear diary")
    return c


@pytest.fixture(scope="module")
def bob(two_users, alice):  # type: ignore[no-untyped-def]
    c = client_for(two_users.endpoint, *BOB)
    c.create_bucket(Bucket="bob-bucket")
    return c


def test_config_users_get_no_generated_credentials(two_users, alice):  # type: ignore[no-untyped-def]
    assert not (two_users.data / "credentials.json").exists()


def test_list_buckets_shows_each_user_their_own(alice, bob):  # type: ignore[no-untyped-def]
    assert [b["Name"] for b in alice.list_buckets()["Buckets"]] == ["alice-bucket"]
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == ["bob-bucket"]
    assert alice.list_buckets()["Owner"]["ID"] != bob.list_buckets()["Owner"]["ID"]


def test_other_user_cannot_list_a_bucket(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.list_objects_v2(Bucket="alice-bucket")
    assert code_of(e) == (403, "AccessDenied")


def test_other_user_cannot_get_an_object(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.get_object(Bucket="alice-bucket", Key="diary.txt")
    assert code_of(e) == (403, "AccessDenied")


def test_other_user_cannot_head_a_bucket(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.head_bucket(Bucket="alice-bucket")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_other_user_cannot_put_an_object(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.put_object(Bucket="alice-bucket", Key="diary.txt", Body=b"bob was here")
    assert code_of(e) == (403, "AccessDenied")
    assert alice.get_object(Bucket="alice-bucket", Key="diary.txt")["Body"].read() == b"dear diary"


def test_other_user_cannot_delete_an_object(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.delete_object(Bucket="alice-bucket", Key="diary.txt")
    assert code_of(e) == (403, "AccessDenied")
    assert alice.get_object(Bucket="alice-bucket", Key="diary.txt")["Body"].read() == b"dear diary"


def test_other_user_cannot_delete_objects_in_bulk(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.delete_objects(Bucket="alice-bucket", Delete={"Objects": [{"Key": "diary.txt"}]})
    assert code_of(e) == (403, "AccessDenied")
    assert alice.get_object(Bucket="alice-bucket", Key="diary.txt")["Body"].read() == b"dear diary"


def test_other_user_cannot_delete_a_bucket(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.delete_bucket(Bucket="alice-bucket")
    assert code_of(e) == (403, "AccessDenied")
    assert [b["Name"] for b in alice.list_buckets()["Buckets"]] == ["alice-bucket"]


def test_other_user_cannot_copy_out_of_a_bucket(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.copy_object(Bucket="bob-bucket", Key="stolen", CopySource={"Bucket": "alice-bucket", "Key": "diary.txt"})
    assert code_of(e) == (403, "AccessDenied")
    assert "Contents" not in bob.list_objects_v2(Bucket="bob-bucket")


def test_other_user_cannot_copy_into_a_bucket(alice, bob):  # type: ignore[no-untyped-def]
    bob.put_object(Bucket="bob-bucket", Key="gift", Body=b"x")
    try:
        with pytest.raises(ClientError) as e:
            bob.copy_object(Bucket="alice-bucket", Key="gift", CopySource={"Bucket": "bob-bucket", "Key": "gift"})
        assert code_of(e) == (403, "AccessDenied")
    finally:
        bob.delete_object(Bucket="bob-bucket", Key="gift")
    assert [o["Key"] for o in alice.list_objects_v2(Bucket="alice-bucket")["Contents"]] == ["diary.txt"]


def test_other_users_bucket_name_is_bucket_already_exists(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.create_bucket(Bucket="alice-bucket")
    assert code_of(e) == (409, "BucketAlreadyExists")


def test_other_user_cannot_read_a_bucket_location(alice, bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        bob.get_bucket_location(Bucket="alice-bucket")
    assert code_of(e) == (403, "AccessDenied")


def test_other_users_presigned_url_is_refused(two_users, alice, bob):  # type: ignore[no-untyped-def]
    from tests.support import rawhttp

    url = rawhttp.presign(two_users.endpoint, "GET", "/alice-bucket/diary.txt", access_key=BOB[0], secret_key=BOB[1])
    r = rawhttp.get_url(url)
    assert (r.status, r.error_code) == (403, "AccessDenied")


def test_user_with_wrong_secret_is_refused(two_users, alice):  # type: ignore[no-untyped-def]
    c = client_for(two_users.endpoint, ALICE[0], BOB[1])
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert code_of(e) == (403, "SignatureDoesNotMatch")


def test_config_user_without_secret_is_a_startup_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[users]]\nname = "x"\naccess_key = "AKX"\n')
    r = s3d_cli("run", "--config", str(cfg), "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{free_port()}")
    assert r.returncode == 2
    assert "users[0] needs access_key and secret_key" in r.stderr


@pytest.mark.parametrize(
    "users, message",
    [
        ([("a", "AK1"), ("b", "AK1")], "access key 'AK1' is given to more than one user"),
        ([("a", "AK1"), ("a", "AK2")], "user name 'a' is given to more than one user"),
    ],
)
def test_config_with_ambiguous_users_is_a_startup_error(tmp_path: Path, users, message) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "dup.toml"
    cfg.write_text("".join(f'[[users]]\nname = "{n}"\naccess_key = "{k}"\nsecret_key = "s"\n' for n, k in users))
    r = s3d_cli("run", "--config", str(cfg), "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{free_port()}")
    assert r.returncode == 2
    assert message in r.stderr


# ---------- generated credentials ----------
@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("gen")
    d = start(root / "data", "--workers", "2")
    yield d
    d.stop()


def test_first_run_writes_credentials_file_mode_0600(generated):  # type: ignore[no-untyped-def]
    path = generated.data / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = json.loads(path.read_text())
    assert len(creds["access_key"]) >= 16
    assert len(creds["secret_key"]) >= 30


def test_first_run_prints_the_credentials(generated):  # type: ignore[no-untyped-def]
    creds = json.loads((generated.data / "credentials.json").read_text())
    out = generated.log.read_text()
    assert f"access key: {creds['access_key']}" in out
    assert f"secret key: {creds['secret_key']}" in out


def test_credentials_command_prints_the_same_keys(generated):  # type: ignore[no-untyped-def]
    creds = json.loads((generated.data / "credentials.json").read_text())
    r = s3d_cli("credentials", "--data", str(generated.data))
    assert r.returncode == 0
    assert r.stdout == f"access key: {creds['access_key']}\nsecret key: {creds['secret_key']}\n"


def test_generated_credentials_work(generated):  # type: ignore[no-untyped-def]
    creds = json.loads((generated.data / "credentials.json").read_text())
    c = client_for(generated.endpoint, creds["access_key"], creds["secret_key"])
    c.create_bucket(Bucket="generated-ok")
    c.put_object(Bucket="generated-ok", Key="k", Body=b"works")
    assert c.get_object(Bucket="generated-ok", Key="k")["Body"].read() == b"works"
    assert [b["Name"] for b in c.list_buckets()["Buckets"]] == ["generated-ok"]


def test_restart_keeps_the_generated_credentials(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start(data, "--workers", "1")
    try:
        creds = json.loads((data / "credentials.json").read_text())
    finally:
        first.stop()
    second = start(data, "--workers", "1")
    try:
        assert json.loads((data / "credentials.json").read_text()) == creds
        c = client_for(second.endpoint, creds["access_key"], creds["secret_key"])
        assert c.list_buckets()["Buckets"] == []
        assert "access key:" not in second.log.read_text()  # printed on the first run only
    finally:
        second.stop()


def test_credentials_command_before_first_run_fails(tmp_path: Path) -> None:
    r = s3d_cli("credentials", "--data", str(tmp_path / "never-ran"))
    assert r.returncode == 1
    assert "no credentials yet" in r.stderr
    assert r.stdout == ""
