"""Keys: master key file and rotation, KMS keyring, customer keys, envelopes."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from s3d.crypto import envelope, keys
from s3d.crypto.envelope import SSE_C, SSE_KMS, SSE_S3, open_key, seal
from s3d.crypto.keys import Keyring, UnknownKey, WrongKey


def keyring(tmp_path: Path, kms: dict[str, bytes] | None = None) -> Keyring:
    return Keyring(keys.load_master_keys(tmp_path / keys.MASTER_KEY_FILE), kms or {})


def test_master_key_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / keys.MASTER_KEY_FILE
    mk = keys.load_master_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(mk.keys[mk.current]) == 32
    assert keys.load_master_keys(path).keys == mk.keys  # loading again keeps the key


def test_master_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / keys.MASTER_KEY_FILE
    keys.load_master_keys(path)
    path.chmod(0o644)
    with pytest.raises(keys.BadKeyFile):
        keys.load_master_keys(path)


def test_rotation_keeps_old_data_keys_readable(tmp_path: Path) -> None:
    ring = keyring(tmp_path)
    old_id = ring.master.current
    dk, env = seal(ring, SSE_S3)
    new_id = keys.rotate_master_key(tmp_path / keys.MASTER_KEY_FILE)
    rotated = keyring(tmp_path)
    assert rotated.master.current == new_id != old_id
    assert open_key(rotated, envelope.Envelope.loads(env.dumps())) == dk
    _, env2 = seal(rotated, SSE_S3)
    assert env2.master == new_id


def test_a_running_keyring_finds_a_key_rotated_in_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / keys.MASTER_KEY_FILE
    ring = keyring(tmp_path)
    new_id = keys.rotate_master_key(path)
    other = Keyring(keys.load_master_keys(path))
    dk, env = seal(other, SSE_S3)
    assert env.master == new_id
    assert open_key(ring, env) == dk


def test_master_keys_from_env() -> None:
    k1, k2 = base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(32)).decode()
    mk = keys.master_keys_from_env(f"one:{k1},two:{k2}")
    assert mk.current == "two" and set(mk.keys) == {"one", "two"}
    with pytest.raises(keys.BadKeyFile):
        keys.master_keys_from_env("one:c2hvcnQ=")


def test_kms_keys_by_name_alias_and_arn(tmp_path: Path) -> None:
    k = os.urandom(32)
    ring = keyring(tmp_path, {"alias/app": k})
    for key_id in ("alias/app", "app", "arn:aws:kms:us-east-1:111122223333:alias/app"):
        assert ring.kms_key(key_id) == k
    with pytest.raises(UnknownKey):
        ring.kms_key("nope")
    dk, env = seal(ring, SSE_KMS, "app", context="e30=")
    assert open_key(ring, env) == dk
    env.context = "eyJhIjoiYiJ9"  # another encryption context does not unwrap
    with pytest.raises(WrongKey):
        open_key(ring, env)


def test_kms_without_key_id_uses_the_default_key(tmp_path: Path) -> None:
    ring = keyring(tmp_path)
    dk, env = seal(ring, SSE_KMS)
    assert env.wrapper == keys.DEFAULT_KMS_KEY
    assert open_key(ring, env) == dk


def test_customer_key_is_never_stored(tmp_path: Path) -> None:
    ring = keyring(tmp_path)
    ck = os.urandom(32)
    dk, env = seal(ring, SSE_C, customer_key=ck)
    stored = env.dumps()
    assert base64.b64encode(ck).decode() not in stored and ck.hex() not in stored
    assert open_key(ring, envelope.Envelope.loads(stored), ck) == dk
    with pytest.raises(WrongKey):
        open_key(ring, env, os.urandom(32))
    with pytest.raises(WrongKey):
        open_key(ring, env, None)
