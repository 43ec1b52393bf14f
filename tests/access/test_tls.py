"""HTTPS: real clients with a CA bundle, refused certificates, reload on SIGHUP, a self-signed quick start."""

from __future__ import annotations

import datetime
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import trustme
from botocore.config import Config
from botocore.exceptions import SSLError

from tests.conftest import client_for
from tests.support.clients import AwsCli, Rclone
from tests.support.server import ACCESS_KEY, SECRET_KEY, S3dProcess, free_port

HOSTS = ("127.0.0.1", "localhost")
BIG = os.urandom(3 * 1024 * 1024 + 17)  # larger than the sendfile threshold: streamed through TLS in chunks


@dataclass
class HttpsDaemon(S3dProcess):
    """A daemon with an HTTPS listener (--listen-tls) next to its plain one; ``endpoint`` is the HTTPS one."""

    https_port: int = 0

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpsDaemon:
        from tests.support.server import wait_http

        self.port = self.port or free_port()
        self.https_port = self.https_port or free_port()
        self.args = [*self.args, "--listen-tls", f"127.0.0.1:{self.https_port}"]
        env = dict(os.environ) | {"S3D_ACCESS_KEY": self.access_key, "S3D_SECRET_KEY": self.secret_key}
        log = open(self.data.parent / f"s3d-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "s3d", "run", "--data", str(self.data), "--listen", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), *self.args],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_http(self.http_endpoint + "/_s3d/health", proc=self.proc)
        return self


def tls_client(endpoint: str, ca: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1", verify=ca, config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


def write_cert(ca: trustme.CA, directory: Path, **kw: Any) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert = ca.issue_cert(*HOSTS, **kw)
    chain, key = directory / "cert.pem", directory / "key.pem"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(b.bytes() for b in cert.cert_chain_pems))
    return chain, key


def ca_file(ca: trustme.CA, path: Path) -> Path:
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Iterator[HttpsDaemon]:
    root = tmp_path_factory.mktemp("tls")
    cert, key = write_cert(ca, root / "certs")
    d = HttpsDaemon(root / "data", workers=2, args=["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def ca_path(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Path:
    return ca_file(ca, tmp_path_factory.mktemp("ca") / "ca.pem")


def test_boto3_with_ca_bundle_round_trips_a_large_object(https, ca_path):  # type: ignore[no-untyped-def]
    s3 = tls_client(https.endpoint, str(ca_path))
    s3.create_bucket(Bucket="tls-boto3")
    s3.put_object(Bucket="tls-boto3", Key="big", Body=BIG)
    assert s3.get_object(Bucket="tls-boto3", Key="big")["Body"].read() == BIG
    got = s3.get_object(Bucket="tls-boto3", Key="big", Range="bytes=1000000-1000099")["Body"].read()
    assert got == BIG[1000000:1000100]


def test_aws_cli_with_ca_bundle(https, ca_path, tmp_path):  # type: ignore[no-untyped-def]
    aws = AwsCli(https, tmp_path / "aws")
    src = tmp_path / "f.bin"
    src.write_bytes(BIG)
    aws.run("s3", "mb", "s3://tls-cli", "--ca-bundle", str(ca_path))
    aws.run("s3", "cp", str(src), "s3://tls-cli/f.bin", "--ca-bundle", str(ca_path))
    aws.run("s3", "cp", "s3://tls-cli/f.bin", str(tmp_path / "back.bin"), "--ca-bundle", str(ca_path))
    assert (tmp_path / "back.bin").read_bytes() == BIG


def test_aws_cli_without_the_ca_is_refused(https, tmp_path):  # type: ignore[no-untyped-def]
    aws = AwsCli(https, tmp_path / "aws")
    r = aws.run("s3", "ls", check=False)
    assert r.returncode != 0
    assert b"SSL" in r.stderr or b"certificate" in r.stderr


def test_rclone_with_ca_cert(https, ca_path, tmp_path):  # type: ignore[no-untyped-def]
    rclone = Rclone(https, tmp_path / "rclone")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"over tls")
    (src / "big.bin").write_bytes(BIG)
    rclone.run("--ca-cert", str(ca_path), "mkdir", "s3d:tls-rclone")
    rclone.run("--ca-cert", str(ca_path), "copy", str(src), "s3d:tls-rclone")
    rclone.run("--ca-cert", str(ca_path), "check", "--download", str(src), "s3d:tls-rclone")
    assert rclone.run("lsf", "s3d:tls-rclone", check=False).returncode != 0  # no CA: refused


def test_wrong_ca_is_refused(https, tmp_path):  # type: ignore[no-untyped-def]
    other = ca_file(trustme.CA(), tmp_path / "other.pem")
    ctx = ssl.create_default_context(cafile=str(other))
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", https.https_port), timeout=10) as raw:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s3 = tls_client(https.endpoint, str(other))
    with pytest.raises(SSLError):
        s3.list_buckets()


def test_admin_endpoints_and_metrics_over_tls(https, ca_path):  # type: ignore[no-untyped-def]
    ctx = ssl.create_default_context(cafile=str(ca_path))
    for path in ("/_s3d/health", "/metrics"):
        conn = http.client.HTTPSConnection("127.0.0.1", https.https_port, context=ctx, timeout=10)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        assert r.status == 200, (path, body)
    assert b"status" in body or b"s3d_" in body


def test_secure_transport_is_true_only_over_tls(https, ca_path):  # type: ignore[no-untyped-def]
    import json

    secure = tls_client(https.endpoint, str(ca_path))
    plain = client_for(https.http_endpoint, ACCESS_KEY, SECRET_KEY)
    plain.create_bucket(Bucket="tls-only")
    plain.put_bucket_policy(
        Bucket="tls-only",
        Policy=json.dumps({"Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::tls-only",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }]}),
    )  # fmt: skip
    assert secure.list_objects_v2(Bucket="tls-only")["KeyCount"] == 0
    with pytest.raises(Exception, match="AccessDenied"):
        plain.list_objects_v2(Bucket="tls-only")


def _serial(port: int, cafile: Path) -> int:
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            der = s.getpeercert(binary_form=True)
    from cryptography import x509

    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_sighup_reloads_the_certificate_without_dropping_connections(tmp_path):  # type: ignore[no-untyped-def]
    ca1, ca2 = trustme.CA(), trustme.CA()
    cert, key = write_cert(ca1, tmp_path / "certs")
    d = HttpsDaemon(tmp_path / "data", workers=2, args=["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    try:
        ca1_file, ca2_file = ca_file(ca1, tmp_path / "ca1.pem"), ca_file(ca2, tmp_path / "ca2.pem")
        old = http.client.HTTPSConnection(
            "127.0.0.1", d.https_port, context=ssl.create_default_context(cafile=str(ca1_file)), timeout=10
        )
        old.request("GET", "/_s3d/health")
        assert old.getresponse().read()
        write_cert(ca2, tmp_path / "certs")
        assert d.proc is not None
        os.kill(d.proc.pid, signal.SIGHUP)  # the main process only: it passes the signal on to its workers
        deadline = time.monotonic() + 20
        while True:  # every worker serves the new certificate (each new connection may land on any)
            try:
                if all(_serial(d.https_port, ca2_file) for _ in range(8)):
                    break
            except ssl.SSLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with pytest.raises(ssl.SSLCertVerificationError):
            _serial(d.https_port, ca1_file)
        old.request("GET", "/_s3d/health")  # the connection made before the reload still works
        r = old.getresponse()
        assert r.status == 200 and r.read()
        old.close()
        assert d.proc.poll() is None
    finally:
        d.stop()


def test_expired_certificate_is_refused(tmp_path):  # type: ignore[no-untyped-def]
    ca = trustme.CA()
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    cert, key = write_cert(ca, tmp_path / "certs", not_before=past - datetime.timedelta(days=30), not_after=past)
    d = HttpsDaemon(tmp_path / "data", workers=1, args=["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
            _serial(d.https_port, ca_file(ca, tmp_path / "ca.pem"))
    finally:
        d.stop()


def test_self_signed_certificate_is_generated_and_its_fingerprint_printed(tmp_path):  # type: ignore[no-untyped-def]
    d = HttpsDaemon(tmp_path / "data", workers=1, args=["--tls-self-signed"]).start()
    try:
        cert = tmp_path / "data" / "tls" / "cert.pem"
        key = tmp_path / "data" / "tls" / "key.pem"
        assert cert.exists() and (key.stat().st_mode & 0o777) == 0o600
        der = ssl.PEM_cert_to_DER_cert(cert.read_text())
        import hashlib

        digest = hashlib.sha256(der).hexdigest().upper()
        fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
        log = (tmp_path / f"s3d-{d.port}.log").read_text()
        assert f"SHA-256 fingerprint {fingerprint}" in log
        s3 = tls_client(d.endpoint, str(cert))
        s3.create_bucket(Bucket="self-signed")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["self-signed"]
    finally:
        d.stop()


def test_https_on_the_main_listener(tmp_path, ca):  # type: ignore[no-untyped-def]
    cert, key = write_cert(ca, tmp_path / "certs")
    port = free_port()
    env = dict(os.environ) | {"S3D_ACCESS_KEY": ACCESS_KEY, "S3D_SECRET_KEY": SECRET_KEY,
                              "S3D_TLS_CERT": str(cert), "S3D_TLS_KEY": str(key)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{port}", "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        cafile = ca_file(ca, tmp_path / "ca.pem")
        deadline = time.monotonic() + 20
        while True:
            try:
                assert _serial(port, cafile)
                break
            except (ConnectionRefusedError, ssl.SSLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        s3 = tls_client(f"https://127.0.0.1:{port}", str(cafile))
        s3.create_bucket(Bucket="main-https")
        assert s3.head_bucket(Bucket="main-https")["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert f"s3d listening on https://127.0.0.1:{port}".encode() in out


def _peak_rss_kib(pid: int) -> int:
    """The largest VmHWM among the daemon's processes (the main one and its workers)."""
    best = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if int(name) == pid or ppid == pid:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]))
    return best


def test_large_tls_download_streams_in_bounded_memory(https, ca_path, tmp_path):  # type: ignore[no-untyped-def]
    size = 96 * 1024 * 1024
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            f.write(block)
    s3 = tls_client(https.endpoint, str(ca_path))
    s3.create_bucket(Bucket="tls-memory")
    s3.upload_file(str(src), "tls-memory", "big")
    assert https.proc is not None
    before = _peak_rss_kib(https.proc.pid)
    body = s3.get_object(Bucket="tls-memory", Key="big")["Body"]
    got = 0
    while piece := body.read(1024 * 1024):
        got += len(piece)
    assert got == size
    grown_mib = (_peak_rss_kib(https.proc.pid) - before) / 1024
    assert grown_mib < 32, f"peak RSS grew {grown_mib:.0f} MiB while streaming {size >> 20} MiB over TLS"
