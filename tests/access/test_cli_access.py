"""The s3d command line against a daemon in another region and over its self-signed HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.access.test_tls import HttpsDaemon
from tests.support.server import ACCESS_KEY, SECRET_KEY, S3dProcess


def s3d(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("S3D_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "s3d", *args], env=clean | env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_cli_signs_with_the_daemons_region(tmp_path):  # type: ignore[no-untyped-def]
    d = S3dProcess(tmp_path / "data", workers=1, args=["--region", "eu-west-1"]).start()
    try:
        env = {"S3D_ENDPOINT": d.endpoint, "S3D_ACCESS_KEY": ACCESS_KEY, "S3D_SECRET_KEY": SECRET_KEY,
               "S3D_REGION": "eu-west-1"}  # fmt: skip
        assert s3d("mb", "regional", env=env, cwd=tmp_path).returncode == 0
        r = s3d("ls", env=env, cwd=tmp_path)
        assert r.returncode == 0 and "regional" in r.stdout, r
        assert s3d("status", "--json", env=env, cwd=tmp_path).returncode == 0
    finally:
        d.stop()


def test_cli_trusts_the_daemons_self_signed_certificate(tmp_path):  # type: ignore[no-untyped-def]
    d = HttpsDaemon(tmp_path / "data", workers=1, args=["--tls-self-signed"]).start()
    try:
        env = {"S3D_DATA": str(tmp_path / "data"), "S3D_LISTEN_TLS": f"127.0.0.1:{d.https_port}",
               "S3D_TLS_SELF_SIGNED": "1", "S3D_ACCESS_KEY": ACCESS_KEY, "S3D_SECRET_KEY": SECRET_KEY}  # fmt: skip
        (tmp_path / "f.txt").write_text("over https")
        assert s3d("mb", "secure", env=env, cwd=tmp_path).returncode == 0
        assert s3d("put", "secure/f.txt", "f.txt", env=env, cwd=tmp_path).returncode == 0
        r = s3d("get", "secure/f.txt", "-", env=env, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout == "over https", r
        assert s3d("status", env=env, cwd=tmp_path).returncode == 0
    finally:
        d.stop()
