"""Server-side encryption on the S3 surface: request headers -> what to encrypt with, and back.

Every operation that carries SSE headers goes through here: writes (PutObject,
CreateMultipartUpload, CopyObject's destination) name the kind of encryption; reads (GET, HEAD),
UploadPart and a copy's source present the customer key of an SSE-C object. Bucket default
encryption (Put/Get/DeleteBucketEncryption) applies to writes that name no kind themselves.
Errors are AWS's own for each bad combination.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from s3d.crypto import envelope
from s3d.crypto.envelope import SSE_C, SSE_KMS, SSE_S3, Envelope
from s3d.crypto.keys import UnknownKey, WrongKey
from s3d.crypto.segments import KEY_SIZE, TamperError
from s3d.crypto.setup import keyring_for
from s3d.s3 import xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import empty, read_document, xml_response
from s3d.server.http import Response
from s3d.store.store import Object

log = logging.getLogger("s3d.sse")

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
CONTEXT = "x-amz-server-side-encryption-context"
BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
ALGORITHM, KEY, KEY_MD5 = "algorithm", "key", "key-md5"
CUSTOMER_ALGORITHM = "AES256"
DSSE = "aws:kms:dsse"
META = "x-s3d-sse"  # the object's envelope, in its metadata (never shown to clients: x-s3d-* is s3d's own)
BUCKET_CONFIG = "encryption"
MAX_CONFIG_BODY = 64 * 1024
ETAG_LABEL = b"s3d etag"


# ---------- errors, as AWS words them ----------
def _arg(message: str) -> S3Error:
    return S3Error("InvalidArgument", message)


def kms_not_found(key_id: str) -> S3Error:
    return S3Error("KMS.NotFoundException", f"Invalid keyId {key_id}", status=400)


NEEDS_KEY = (
    "The object was stored using a form of Server Side Encryption. "
    "The correct parameters must be provided to retrieve the object."
)


def tampered(obj: Object, e: TamperError) -> S3Error:
    """An object whose stored bytes fail authentication: logged, and refused (never wrong bytes, never a 500)."""
    log.error("%s/%s: stored data failed its integrity check: %s", obj.bucket, obj.key.decode(errors="replace"), e)
    return S3Error("InvalidObjectState", "The object's stored data failed its integrity check.", status=403)


# ---------- customer keys (SSE-C) ----------
@dataclass(frozen=True, slots=True)
class CustomerKey:
    key: bytes
    md5: str  # base64, as the client sent it


def presents_customer_key(headers: dict[str, str], prefix: str = CUSTOMER) -> bool:
    return any(prefix + n in headers for n in (ALGORITHM, KEY, KEY_MD5))


def customer_key(headers: dict[str, str], prefix: str = CUSTOMER) -> CustomerKey | None:
    """The SSE-C key a request presents (with ``prefix``: its own, or its copy source's); None if none."""
    algo, raw, md5 = (headers.get(prefix + n) for n in (ALGORITHM, KEY, KEY_MD5))
    if algo is None and raw is None and md5 is None:
        return None
    if algo is None:
        raise _arg(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."
        )
    if algo != CUSTOMER_ALGORITHM:
        raise S3Error(
            "InvalidEncryptionAlgorithmError",
            "The Encryption request you specified is not valid. Supported value: AES256.",
            status=400,
        )
    if raw is None:
        raise _arg(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."
        )
    if md5 is None:
        raise _arg(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."
        )
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_SIZE:
        raise _arg("The secret key was invalid for the specified algorithm.")
    if not hmac.compare_digest(base64.b64encode(hashlib.md5(key).digest()).decode(), md5.strip()):
        raise _arg("The calculated MD5 hash of the key did not match the hash that was provided.")
    return CustomerKey(key, md5.strip())


# ---------- what a write asks for ----------
@dataclass(slots=True)
class WriteSpec:
    kind: str  # SSE_S3 | SSE_KMS | SSE_C
    kms_key_id: str | None = None
    context: str | None = None
    bucket_key: bool = False
    customer: CustomerKey | None = None


def _bool_header(headers: dict[str, str], name: str) -> bool | None:
    v = headers.get(name)
    if v is None:
        return None
    if v.lower() not in ("true", "false"):
        raise _arg(f"Invalid value for header {name}: {v}")
    return v.lower() == "true"


def _context(raw: str) -> str:
    try:
        doc = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: nested too deep
        doc = None
    if not isinstance(doc, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in doc.items()):
        raise _arg("The encryption context must be base64-encoded JSON of string keys and values.")
    return raw


def write_spec(h: dict[str, str], default: dict[str, Any] | None) -> WriteSpec | None:
    """The encryption a write asks for (its headers or form fields, else the bucket default); None for none."""
    kind = h.get(SSE)
    kms_key, context, bucket_key = h.get(KMS_KEY_ID), h.get(CONTEXT), _bool_header(h, BUCKET_KEY)
    customer = customer_key(h)
    if customer is not None:
        if kind is not None or kms_key is not None or context is not None:
            raise _arg(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"
            )
        return WriteSpec(SSE_C, customer=customer)
    if kind == DSSE:
        raise S3Error("NotImplemented", "Dual-layer server-side encryption (aws:kms:dsse) is not implemented by s3d.")
    if kind is not None and kind not in (SSE_S3, SSE_KMS):
        raise _arg("The encryption method specified is not supported")
    if kind != SSE_KMS and (kms_key is not None or context is not None):
        raise _arg(
            "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
        )
    if kind is None:
        if bucket_key is not None:
            raise _arg("Bucket key requires HTTP header x-amz-server-side-encryption : aws:kms")
        if default is None:
            return None
        return WriteSpec(default["algorithm"], default.get("kms_key"), None, bool(default.get("bucket_key")))
    if kind == SSE_S3:
        return WriteSpec(SSE_S3)
    if bucket_key is None and default is not None and default["algorithm"] == SSE_KMS:
        bucket_key = bool(default.get("bucket_key"))
    return WriteSpec(SSE_KMS, kms_key or None, _context(context) if context else None, bool(bucket_key))


def bucket_default(ctx: Ctx, bucket: str) -> dict[str, Any] | None:
    b = ctx.store.get_bucket(bucket)
    return b.config.get(BUCKET_CONFIG) if b is not None else None


def seal(ctx: Ctx, spec: WriteSpec) -> tuple[bytes, Envelope]:
    """A new data key for a write, and its envelope. KMS.NotFoundException for a key not in the keyring."""
    try:
        return envelope.seal(
            keyring_for(ctx.settings),
            spec.kind,
            spec.kms_key_id,
            spec.context,
            spec.bucket_key,
            spec.customer.key if spec.customer else None,
        )
    except UnknownKey:
        raise kms_not_found(spec.kms_key_id or "") from None


def refuse_write_headers(headers: dict[str, str]) -> None:
    """GET, HEAD, UploadPart: only the SSE-C headers belong there."""
    for name in (SSE, KMS_KEY_ID, CONTEXT):
        if name in headers:
            raise _arg(f"{name} header is not supported for this operation.")


# ---------- an object's envelope ----------
def envelope_of(meta: dict[str, Any]) -> Envelope | None:
    """The envelope stored with an object or upload; a damaged one is refused like damaged data."""
    raw = meta.get(META)
    if not raw:
        return None
    try:
        return Envelope.loads(raw)
    except (ValueError, TypeError):
        log.error("an object's encryption envelope is damaged: %.80r", raw)
        raise S3Error(
            "InvalidObjectState", "The object's stored data failed its integrity check.", status=403
        ) from None


def with_envelope(meta: dict[str, str], env: Envelope | None) -> dict[str, str]:
    out = {k: v for k, v in meta.items() if k != META}
    if env is not None:
        out[META] = env.dumps()
    return out


def open_key(ctx: Ctx, env: Envelope | None, obj: Object | None, presented: CustomerKey | None) -> bytes | None:
    """The data key of an object (or upload) for a request presenting ``presented`` as its SSE-C key.

    AWS's errors: a missing key for an SSE-C object, a key for an object that is not SSE-C, a wrong key.
    """
    if env is None:
        if presented is not None:
            raise S3Error("InvalidRequest", "The encryption parameters are not applicable to this object.")
        return None
    if env.kind == SSE_C and presented is None:
        raise S3Error("InvalidRequest", NEEDS_KEY)
    if env.kind != SSE_C and presented is not None:
        raise S3Error("InvalidRequest", "The encryption parameters are not applicable to this object.")
    try:
        return envelope.open_key(keyring_for(ctx.settings), env, presented.key if presented else None)
    except WrongKey:
        if env.kind == SSE_C:
            raise S3Error(
                "AccessDenied",
                "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.",
            ) from None
        if obj is not None:
            raise tampered(obj, TamperError("the data key did not unwrap")) from None
        raise S3Error("InvalidObjectState", "The upload's data key did not unwrap.", status=403) from None
    except UnknownKey as e:
        log.error("cannot unwrap a data key: %s", e)
        raise kms_not_found(env.wrapper) from None


def etag(kind: str | None, data_key: bytes | None, md5_hex: str) -> str:
    """The ETag AWS documents per kind: the MD5 for none and SSE-S3, a value that is not the MD5 otherwise."""
    if kind in (SSE_KMS, SSE_C) and data_key is not None:
        return hmac.new(data_key, ETAG_LABEL + bytes.fromhex(md5_hex), hashlib.sha256).hexdigest()[:32]
    return md5_hex


# ---------- response headers ----------
def response_headers(
    env: Envelope | None, presented: CustomerKey | None = None, write: bool = False
) -> list[tuple[str, str]]:
    if env is None:
        return []
    if env.kind == SSE_C:
        md5 = presented.md5 if presented else ""
        return [
            ("x-amz-server-side-encryption-customer-algorithm", CUSTOMER_ALGORITHM),
            ("x-amz-server-side-encryption-customer-key-MD5", md5),
        ]
    out = [(SSE, env.kind)]
    if env.kind == SSE_KMS:
        out.append((KMS_KEY_ID, env.wrapper))
        if write and env.context:
            out.append((CONTEXT, env.context))
        if env.bucket_key:
            out.append((BUCKET_KEY, "true"))
    return out


# ---------- bucket default encryption ----------
ENCRYPTION_CONFIGURATION = xml.Shape(
    {
        "Rule": xml.Shape(
            {
                "ApplyServerSideEncryptionByDefault": xml.Shape({"SSEAlgorithm": xml.TEXT, "KMSMasterKeyID": xml.TEXT}),
                "BucketKeyEnabled": xml.TEXT,
                "BlockedEncryptionTypes": xml.Shape(unsupported="s3d does not implement BlockedEncryptionTypes."),
            },
            repeated=True,
        )
    }
)


def parse_config(ctx: Ctx, body: bytes) -> dict[str, Any]:
    root = xml.parse(body)
    xml.conform(root, "ServerSideEncryptionConfiguration", ENCRYPTION_CONFIGURATION)
    rules = root.findall("Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    default = rules[0].find("ApplyServerSideEncryptionByDefault")
    if default is None:
        raise S3Error("MalformedXML")
    algorithm = (xml.text(default, "SSEAlgorithm") or "").strip()
    kms_key = xml.text(default, "KMSMasterKeyID")
    bucket_key = (xml.text(rules[0], "BucketKeyEnabled") or "false").strip().lower()
    if bucket_key not in ("true", "false"):
        raise S3Error("MalformedXML")
    if algorithm == DSSE:
        raise S3Error("NotImplemented", "Dual-layer server-side encryption (aws:kms:dsse) is not implemented by s3d.")
    if algorithm not in (SSE_S3, SSE_KMS):
        raise S3Error("MalformedXML")
    if kms_key is not None and algorithm != SSE_KMS:
        raise _arg("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms")
    if kms_key:
        try:
            keyring_for(ctx.settings).kms_key(kms_key)
        except UnknownKey:
            raise kms_not_found(kms_key) from None
    config: dict[str, Any] = {"algorithm": algorithm, "bucket_key": bucket_key == "true"}
    if kms_key:
        config["kms_key"] = kms_key
    return config


async def put_bucket_encryption(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    config = parse_config(ctx, await read_document(ctx, MAX_CONFIG_BODY))
    await ctx.store.set_bucket_config(b.name, BUCKET_CONFIG, config)
    return empty(200)


async def get_bucket_encryption(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    config = b.config.get(BUCKET_CONFIG)
    if config is None:
        raise S3Error(
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
            status=404,
            extra={"BucketName": b.name},
        )
    default: list[xml.Node] = [("SSEAlgorithm", config["algorithm"])]
    if config.get("kms_key"):
        default.append(("KMSMasterKeyID", config["kms_key"]))
    rule: list[xml.Node] = [("ApplyServerSideEncryptionByDefault", default), ("BucketKeyEnabled", config["bucket_key"])]
    return xml_response(xml.document("ServerSideEncryptionConfiguration", [("Rule", rule)]))


async def delete_bucket_encryption(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, BUCKET_CONFIG, None)
    return empty(204)


HANDLERS = {
    "PutBucketEncryption": put_bucket_encryption,
    "GetBucketEncryption": get_bucket_encryption,
    "DeleteBucketEncryption": delete_bucket_encryption,
}
