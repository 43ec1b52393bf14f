"""An object's envelope: its data key, wrapped, and what is needed to unwrap it again.

Stored with the object's metadata (a JSON string); the data key itself is only ever held in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from s3d.crypto import keys
from s3d.crypto.keys import Keyring, UnknownKey, WrongKey

SSE_S3 = "AES256"
SSE_KMS = "aws:kms"
SSE_C = "SSE-C"
KINDS = (SSE_S3, SSE_KMS, SSE_C)
CUSTOMER = "customer"


@dataclass(slots=True)
class Envelope:
    kind: str  # SSE_S3 | SSE_KMS | SSE_C
    wrapped: str  # base64 data key, wrapped
    wrapper: str  # master key id (SSE-S3, default KMS key), KMS key id as the client named it, or CUSTOMER
    master: str | None = None  # master key id, when a master key wrapped the data key
    context: str | None = None  # SSE-KMS encryption context, base64 JSON as sent
    bucket_key: bool = False
    verifier: str | None = None  # SSE-C: salted HMAC of the customer key

    def aad(self) -> bytes:
        return f"s3d data key|{self.kind}|{self.wrapper}|{self.context or ''}".encode()

    def dumps(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__slots__ if getattr(self, k) not in (None, False)})

    @classmethod
    def loads(cls, text: str) -> Envelope:
        return cls(**json.loads(text))


def seal(
    keyring: Keyring,
    kind: str,
    kms_key_id: str | None = None,
    context: str | None = None,
    bucket_key: bool = False,
    customer_key: bytes | None = None,
) -> tuple[bytes, Envelope]:
    """A new data key and its envelope. UnknownKey for a KMS key id not in the keyring."""
    data_key = keys.new_data_key()
    if kind == SSE_C:
        assert customer_key is not None
        env = Envelope(SSE_C, "", CUSTOMER, verifier=keys.customer_verifier(customer_key))
        env.wrapped = keys.b64(keys.wrap(customer_key, data_key, env.aad()))
        return data_key, env
    if kind == SSE_KMS and kms_key_id is not None and kms_key_id != keys.DEFAULT_KMS_KEY:
        kek = keyring.kms_key(kms_key_id)
        env = Envelope(SSE_KMS, "", kms_key_id, context=context, bucket_key=bucket_key)
    else:
        wrapper = keyring.master.current if kind == SSE_S3 else keys.DEFAULT_KMS_KEY
        kek = keyring.master.get(keyring.master.current)
        env = Envelope(kind, "", wrapper, keyring.master.current, context=context, bucket_key=bucket_key)
    env.wrapped = keys.b64(keys.wrap(kek, data_key, env.aad()))
    return data_key, env


def open_key(keyring: Keyring, env: Envelope, customer_key: bytes | None = None) -> bytes:
    """The envelope's data key. WrongKey for a customer key that does not match; UnknownKey for a lost key."""
    if env.kind == SSE_C:
        if customer_key is None or env.verifier is None or not keys.customer_key_matches(env.verifier, customer_key):
            raise WrongKey("the customer key does not match the object's")
        kek = customer_key
    elif env.master is not None:
        kek = keyring.master.get(env.master)
    else:
        kek = keyring.kms_key(env.wrapper)
    return keys.unwrap(kek, keys.unb64(env.wrapped), env.aad())


__all__ = ["Envelope", "seal", "open_key", "UnknownKey", "WrongKey", "SSE_S3", "SSE_KMS", "SSE_C", "KINDS"]
