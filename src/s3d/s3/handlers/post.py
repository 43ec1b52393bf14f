"""PostObject: browser uploads as multipart/form-data, authorized by a SigV4-signed policy document."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from s3d.access import acl, authorize
from s3d.access.actions import action_of
from s3d.object_keys import carries
from s3d.s3 import auth, checksums, surface, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.formdata import FormReader, boundary_of
from s3d.s3.handlers import acls, sse
from s3d.s3.handlers.common import (
    STORED_HEADERS,
    empty,
    header_value_ok,
    user_metadata_of,
    version_header,
    xml_response,
)
from s3d.s3.handlers.objects import DEFAULT_CHECKSUM
from s3d.s3.handlers.tagging import parse_tagging
from s3d.s3.payload import content_length
from s3d.server.http import Response
from s3d.store.writer import Draft

LENGTH_DIGITS = 19  # content-length-range bounds: digit strings up to this long (past any real size)
# fields a policy need not mention (the signature fields sign the policy itself)
EXEMPT = {
    "policy", "x-amz-signature", "file", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "bucket",
    "awsaccesskeyid", "signature",
}  # fmt: skip
V2_FIELDS = ("awsaccesskeyid", "signature")
ACL_FIELD = "acl"  # the canned ACL of a POST form (x-amz-acl on a PUT)


def _denied(why: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {why}")


def _need(fields: dict[str, str], need: str) -> None:
    if need not in fields:
        raise S3Error(
            "InvalidArgument", f"Bucket POST must contain a field named '{need}'.", extra={"ArgumentName": need}
        )


def _verify_v2(ctx: Ctx, fields: dict[str, str]) -> str:
    """The access key of a Signature Version 2 form (AWSAccessKeyId, policy, signature)."""
    for need in ("policy", *V2_FIELDS):
        _need(fields, need)
    access_key = fields["awsaccesskeyid"]
    secret = ctx.settings.secrets().get(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId")
    want = base64.b64encode(hmac.new(secret.encode(), fields["policy"].encode(), hashlib.sha1).digest())
    if not hmac.compare_digest(want, fields["signature"].encode()):
        raise S3Error("SignatureDoesNotMatch")
    return access_key


def signed_by(fields: dict[str, str]) -> bool:
    """Whether the form carries a signed policy (SigV4 or SigV2); without one it is an anonymous upload."""
    return "x-amz-signature" in fields or "signature" in fields or "policy" in fields


def verify_signature(ctx: Ctx, fields: dict[str, str]) -> dict[str, Any]:
    """Check the policy's signature and return the decoded policy document."""
    if "x-amz-signature" not in fields and any(f in fields for f in V2_FIELDS):
        access_key = _verify_v2(ctx, fields)
    else:
        access_key = _verify_v4(ctx, fields)
    users = {u.access_key: u for u in ctx.settings.users}
    ctx.user = users[access_key]
    try:
        policy = json.loads(base64.b64decode(fields["policy"]))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: nested too deep
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.", status=400) from None
    if not isinstance(policy, dict):
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.", status=400)
    return policy


def _verify_v4(ctx: Ctx, fields: dict[str, str]) -> str:
    """The access key of a SigV4 form (x-amz-credential, x-amz-signature over the policy)."""
    for need in ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"):
        _need(fields, need)
    if fields["x-amz-algorithm"] != auth.ALGORITHM:
        raise S3Error("InvalidArgument", "Only AWS4-HMAC-SHA256 is supported for POST policies")
    parts = fields["x-amz-credential"].split("/")
    if len(parts) != 5 or parts[3] != "s3" or parts[4] != "aws4_request":
        raise S3Error("InvalidArgument", "The x-amz-credential field is malformed")
    access_key, date, region = parts[0], parts[1], parts[2]
    secret = ctx.settings.secrets().get(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId")
    key = auth.signing_key(secret, date, region)
    want = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want.encode(), fields["x-amz-signature"].encode()):
        raise S3Error("SignatureDoesNotMatch")
    return access_key


def _length_range(low: object, high: object) -> tuple[int, int]:
    """The bounds of a content-length-range condition: two non-negative integers (JSON numbers or digit strings)."""
    bounds: list[int] = []
    for v in (low, high):
        if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= LENGTH_DIGITS:
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid content-length-range.", status=400)
        bounds.append(v)
    return bounds[0], bounds[1]


def check_policy(policy: dict[str, Any], fields: dict[str, str], now: float) -> tuple[int, int] | None:
    """Apply the policy's expiration and conditions to the form; returns the content-length-range, if any."""
    exp = policy.get("expiration")
    if not isinstance(exp, str):
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.", status=400)
    try:
        when = datetime.fromisoformat(exp.replace("Z", "+00:00"))
        expires = (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()  # S3's times are UTC
    except ValueError:
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.", status=400) from None
    if now > expires:
        raise _denied("Policy expired.")
    covered: set[str] = set()
    length_range = None
    conditions = policy.get("conditions", [])
    if not isinstance(conditions, list):
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions' value.", status=400)
    for cond in conditions:
        if isinstance(cond, dict):
            for k, v in cond.items():
                name = k.lower()
                covered.add(name)
                if fields.get(name) != v:
                    raise _denied(f'Policy Condition failed: ["eq", "${name}", "{v}"]')
        elif isinstance(cond, list) and len(cond) == 3:
            op = str(cond[0]).lower()
            if op == "content-length-range":
                length_range = _length_range(cond[1], cond[2])
                continue
            name = str(cond[1]).lstrip("$").lower()
            covered.add(name)
            value = fields.get(name, "")
            if op == "eq" and value != cond[2]:
                raise _denied(f'Policy Condition failed: ["eq", "${name}", "{cond[2]}"]')
            if op == "starts-with":
                prefixes = [str(cond[2])] if name != "content-type" else [p.strip() for p in str(cond[2]).split(",")]
                if not any(value.startswith(p) for p in prefixes):
                    raise _denied(f'Policy Condition failed: ["starts-with", "${name}", "{cond[2]}"]')
            elif op not in ("eq", "starts-with"):
                raise S3Error("InvalidPolicyDocument", f"Invalid Policy: Invalid condition {op!r}.", status=400)
        else:
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid Simple-Condition.", status=400)
    extra = [f for f in fields if f not in covered and f not in EXEMPT and not f.startswith("x-ignore-")]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(sorted(extra))}")
    return length_range


async def post_object(ctx: Ctx) -> Response:
    assert ctx.bucket is not None
    form = FormReader(ctx.req.body.__aiter__(), boundary_of(ctx.headers.get("content-type", "")))
    await form.read_fields()
    fields = dict(form.fields)
    fields["bucket"] = ctx.bucket
    if "key" not in fields:
        raise S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'.", extra={"ArgumentName": "key"})
    fields["key"] = fields["key"].replace("${filename}", form.filename or "")
    length_range = None
    if signed_by(fields):
        policy = verify_signature(ctx, fields)
        length_range = check_policy(policy, fields, time.time())
    surface.check_form(fields)
    b = ctx.store.get_bucket(ctx.bucket)
    if b is None:
        raise S3Error("NoSuchBucket", resource=f"/{ctx.bucket}", extra={"BucketName": ctx.bucket})
    authorize.check(ctx, b, action_of("PostObject"), fields["key"])  # the form's signer, or anonymous
    # room for the data is reserved only now that the policy's signature has authenticated the form
    reservation = await ctx.ns.reserve_write(content_length(ctx.headers))
    try:
        return await _store_form(ctx, form, fields, length_range)
    finally:
        await ctx.ns.release_write(reservation)


async def _store_form(
    ctx: Ctx, form: FormReader, fields: dict[str, str], length_range: tuple[int, int] | None
) -> Response:
    assert ctx.bucket is not None
    key = fields["key"]
    if not key or len(key.encode()) > 1024:
        raise S3Error("KeyTooLongError" if key else "InvalidArgument")
    if not carries(key):
        raise S3Error("InvalidArgument", "Object key contains a character XML 1.0 cannot carry.")
    meta = {h: fields[h] for h in STORED_HEADERS if h in fields}
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    for name, value in [*meta.items(), ("success_action_redirect", redirect or "")]:
        if not header_value_ok(value):  # these come back as response headers as they are
            raise S3Error(
                "InvalidArgument", f"The form field {name} is not a valid header value", extra={"ArgumentName": name}
            )
    meta.update(user_metadata_of(fields))  # these come back RFC 2047 encoded when they are not plain ASCII
    acls.apply_to_object(ctx, meta, {acl.CANNED_HEADER: fields[ACL_FIELD]} if ACL_FIELD in fields else {})
    if "content-type" not in meta and form.file_content_type:
        meta["content-type"] = form.file_content_type
    tags = parse_tagging(fields["tagging"].encode()) if "tagging" in fields else None
    spec = sse.write_spec(fields, sse.bucket_default(ctx, ctx.bucket))
    data_key, env = sse.seal(ctx, spec) if spec else (None, None)
    meta = sse.with_envelope(meta, env)
    md5 = hashlib.md5()
    ck = checksums.new(DEFAULT_CHECKSUM)
    with ctx.store.writer(None, [md5, ck], data_key=data_key) as writer:
        async for chunk in form.file_chunks():
            writer.write(chunk)
            if length_range and writer.size > length_range[1]:
                raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        if length_range and writer.size < length_range[0]:
            raise S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
        checksum = {"algorithm": DEFAULT_CHECKSUM, "value": checksums.b64(ck.digest()), "type": "FULL_OBJECT"}
        etag = sse.etag(spec.kind if spec else None, data_key, md5.hexdigest())
        obj = await writer.commit_object(Draft(ctx.bucket, key.encode(), etag, meta, checksum, tags))
    ctx.extra_headers += sse.response_headers(env, spec.customer if spec else None, write=True)
    etag = f'"{obj.etag}"'
    location = f"/{ctx.bucket}/{quote(key)}"
    versioned = version_header(ctx, obj)
    if redirect:
        sep = "&" if "?" in redirect else "?"
        target = redirect + sep + urlencode({"bucket": ctx.bucket, "key": key, "etag": etag})
        return empty(303, [("Location", target), ("ETag", etag), *versioned])
    status = fields.get("success_action_status", "204")
    if status == "201":
        body = xml.document(
            "PostResponse", [("Location", location), ("Bucket", ctx.bucket), ("Key", key), ("ETag", etag)], ns=False
        )
        return xml_response(body, 201, [("ETag", etag), ("Location", location), *versioned])
    return empty(200 if status == "200" else 204, [("ETag", etag), ("Location", location), *versioned])


HANDLERS = {"PostObject": post_object}
