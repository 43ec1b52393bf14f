"""Keys: per-object data keys, wrapped by a master key, a named KMS key, or a customer's key.

- **Master keys** (SSE-S3, and SSE-KMS's default ``aws/s3`` key) live in a JSON file in the data
  dir (mode 0600), or come from ``S3D_MASTER_KEY``. Rotation appends a new key: new writes use the
  newest, and old keys stay (by id) so the data keys they wrapped still unwrap. No data is
  re-encrypted.
- **KMS keys** are a local keyring of named keys configured in the daemon; a real KMS would plug in
  behind the same two calls (``wrap``/``unwrap`` with the key id and the encryption context).
- **Customer keys** (SSE-C) are never stored: a salted HMAC of the key is, to tell a wrong key
  from the right one, and the data key is wrapped by the customer's key itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from s3d.crypto.segments import KEY_SIZE, NONCE_SIZE

MASTER_KEY_FILE = "master-keys.json"
DEFAULT_KMS_KEY = "aws/s3"  # the key SSE-KMS uses when the request names none (AWS's managed key)
KMS_ARN_MARKERS = (":key/", ":alias/")
VERIFIER_SALT = 16
FILE_MODE = 0o600


class KeyError_(Exception):
    """Base of the key errors (named so it does not shadow the builtin)."""


class UnknownKey(KeyError_):
    """The key id names no key here (a KMS key id not in the keyring, a master key id lost)."""


class WrongKey(KeyError_):
    """A wrapped data key did not unwrap: the wrong key, or a changed record."""


class BadKeyFile(KeyError_):
    """The master key file cannot be read or is not valid."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def wrap(kek: bytes, data_key: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_SIZE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, aad)


def unwrap(kek: bytes, wrapped: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], aad)
    except (InvalidTag, ValueError):
        raise WrongKey("the data key did not unwrap") from None


def customer_verifier(customer_key: bytes) -> str:
    """What is stored to check an SSE-C key later: salt and HMAC-SHA256(salt, key), never the key."""
    salt = secrets.token_bytes(VERIFIER_SALT)
    return b64(salt + hmac.new(salt, customer_key, hashlib.sha256).digest())


def customer_key_matches(verifier: str, customer_key: bytes) -> bool:
    raw = unb64(verifier)
    salt, mac = raw[:VERIFIER_SALT], raw[VERIFIER_SALT:]
    return hmac.compare_digest(mac, hmac.new(salt, customer_key, hashlib.sha256).digest())


def _parse_key(text: str, what: str) -> bytes:
    try:
        key = unb64(text.strip())
    except (binascii.Error, ValueError):
        raise BadKeyFile(f"{what}: not base64") from None
    if len(key) != KEY_SIZE:
        raise BadKeyFile(f"{what}: a key is {KEY_SIZE} bytes, base64-encoded")
    return key


@dataclass(slots=True)
class MasterKeys:
    """Master keys by id, oldest first; ``current`` wraps new data keys."""

    keys: dict[str, bytes] = field(default_factory=dict)
    current: str = ""
    path: Path | None = None

    def get(self, key_id: str) -> bytes:
        key = self.keys.get(key_id)
        if key is None and self.path is not None:
            # rotated by another process since this one loaded the file
            fresh = read_master_file(self.path)
            self.keys.update(fresh.keys)
            key = self.keys.get(key_id)
        if key is None:
            raise UnknownKey(f"master key {key_id!r} is not in the keyring")
        return key


def read_master_file(path: Path) -> MasterKeys:
    try:
        raw = json.loads(path.read_text())
        entries = raw["keys"]
        keys = {str(e["id"]): _parse_key(str(e["key"]), f"{path}: key {e['id']}") for e in entries}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BadKeyFile(f"cannot read master key file {path}: {e}") from None
    if not keys:
        raise BadKeyFile(f"master key file {path} holds no key")
    return MasterKeys(keys, list(keys)[-1], path)


def _write_atomically(path: Path, doc: dict[str, object], replace: bool) -> bool:
    """Write a key file (0600) durably; with replace=False, False if it already exists."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return True


def _new_entry() -> dict[str, object]:
    return {"id": "mk-" + secrets.token_hex(6), "key": b64(secrets.token_bytes(KEY_SIZE)), "created": time.time()}


def load_master_keys(path: Path) -> MasterKeys:
    """The master key file, created with one new key if it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, {"keys": [_new_entry()]}, replace=False)  # a concurrent creator may win
    if path.stat().st_mode & 0o077:
        raise BadKeyFile(f"master key file {path} must not be readable by others (chmod 600)")
    return read_master_file(path)


def rotate_master_key(path: Path) -> str:
    """Append a new master key; returns its id. Data keys wrapped by older ones stay readable."""
    current = load_master_keys(path)
    raw = json.loads(path.read_text())
    entry = _new_entry()
    raw["keys"].append(entry)
    _write_atomically(path, raw, replace=True)
    assert entry["id"] not in current.keys
    return str(entry["id"])


def master_keys_from_env(value: str) -> MasterKeys:
    """``S3D_MASTER_KEY``: ``id:base64key`` items separated by commas, newest last (a bare key is id ``env``)."""
    keys: dict[str, bytes] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        key_id, sep, text = item.strip().rpartition(":")
        if not sep:
            key_id, text = "env", item
        keys[key_id] = _parse_key(text, f"S3D_MASTER_KEY item {key_id!r}")
    if not keys:
        raise BadKeyFile("S3D_MASTER_KEY holds no key")
    return MasterKeys(keys, list(keys)[-1])


def parse_kms_keys(value: dict[str, str] | str) -> dict[str, bytes]:
    """The KMS keyring: ``{name: base64key}`` (TOML table) or ``name=base64,name2=base64`` (env)."""
    if isinstance(value, str):
        pairs = [p.strip().partition("=") for p in value.split(",") if p.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise BadKeyFile("KMS keys are name=base64key items separated by commas")
        value = {name.strip(): text for name, _, text in pairs}
    return {name: _parse_key(text, f"KMS key {name!r}") for name, text in value.items()}


def kms_key_name(key_id: str) -> str:
    """A KMS key id as clients send it (name, alias/name or an ARN) reduced to the keyring's name."""
    for marker in KMS_ARN_MARKERS:
        if marker in key_id:
            rest = key_id.split(marker, 1)[1]
            return ("alias/" + rest) if marker == ":alias/" else rest
    return key_id


@dataclass(slots=True)
class Keyring:
    master: MasterKeys
    kms: dict[str, bytes] = field(default_factory=dict)

    def kms_key(self, key_id: str) -> bytes:
        """A configured KMS key by any of its names; UnknownKey if none."""
        name = kms_key_name(key_id)
        for candidate in (name, name.removeprefix("alias/"), "alias/" + name):
            key = self.kms.get(candidate)
            if key is not None:
                return key
        raise UnknownKey(f"KMS key {key_id!r} is not in the keyring")
