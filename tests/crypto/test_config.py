"""Key settings: flags, environment and TOML; bad keys stop the daemon at start with one line."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s3d import config
from s3d.crypto import keys
from s3d.crypto.setup import keyring_for

K1 = base64.b64encode(bytes(32)).decode()


def test_kms_keys_from_toml_and_env(tmp_path: Path) -> None:
    toml = tmp_path / "s3d.toml"
    toml.write_text(f'[kms_keys]\n"alias/app" = "{K1}"\n')
    s = config.load({"config": str(toml), "data": str(tmp_path / "d")}, env={})
    assert keyring_for(s).kms_key("app") == bytes(32)
    s = config.load({"data": str(tmp_path / "d")}, env={"S3D_KMS_KEYS": f"other={K1}"})
    assert keyring_for(s).kms_key("other") == bytes(32)


def test_bad_kms_key_is_a_config_error(tmp_path: Path) -> None:
    s = config.load({"data": str(tmp_path / "d")}, env={"S3D_KMS_KEYS": "app=c2hvcnQ="})
    with pytest.raises(config.ConfigError, match="KMS key 'app'"):
        keyring_for(s)


def test_master_key_file_flag_and_env_key(tmp_path: Path) -> None:
    s = config.load({"data": str(tmp_path / "d"), "master_key_file": str(tmp_path / "mk.json")}, env={})
    ring = keyring_for(s)
    assert (tmp_path / "mk.json").exists() and ring.master.current
    s = config.load({"data": str(tmp_path / "d")}, env={"S3D_MASTER_KEY": f"k1:{K1}"})
    assert keyring_for(s).master.current == "k1"


def test_daemon_refuses_a_master_key_file_others_can_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keys.load_master_keys(data / keys.MASTER_KEY_FILE)
    (data / keys.MASTER_KEY_FILE).chmod(0o644)
    env = dict(os.environ, S3D_ACCESS_KEY="ak", S3D_SECRET_KEY="sk")
    r = subprocess.run(
        [sys.executable, "-m", "s3d", "run", "--data", str(data), "--listen", "127.0.0.1:1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "chmod 600" in r.stderr
