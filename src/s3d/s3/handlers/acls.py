"""ACLs, object ownership and public access blocks: their operations, and the ACL a write asks for."""

from __future__ import annotations

import json
from typing import Any

from s3d.access import acl, settings
from s3d.access.errors import access_error
from s3d.access.principals import ANONYMOUS_ID
from s3d.s3 import xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import empty, read_document, xml_response
from s3d.server.http import Response
from s3d.store.store import Bucket

MAX_BODY = 64 * 1024
OWNERSHIP_HEADER = "x-amz-object-ownership"
_BOOL = {"true": True, "false": False}
OWNER = xml.Shape({"DisplayName": xml.TEXT, "ID": xml.TEXT})
GRANTEE = xml.Shape({"DisplayName": xml.TEXT, "EmailAddress": xml.TEXT, "ID": xml.TEXT, "URI": xml.TEXT})
ACCESS_CONTROL_POLICY = xml.Shape(
    {
        "AccessControlList": xml.Shape(
            {"Grant": xml.Shape({"Grantee": GRANTEE, "Permission": xml.TEXT}, repeated=True)}
        ),
        "Owner": OWNER,
    }
)
MALFORMED_ACL = "The XML you provided was not well-formed or did not validate."
OWNERSHIP_CONTROLS = xml.Shape({"Rule": xml.Shape({"ObjectOwnership": xml.TEXT}, repeated=True)})
PUBLIC_ACCESS_BLOCK = xml.Shape({flag: xml.TEXT for flag in settings.BLOCK_FLAGS})


def _users(ctx: Ctx) -> frozenset[str]:
    return frozenset(u.name for u in ctx.settings.users)


def _check_allowed(b: Bucket, wanted: acl.Acl, canned: str | None) -> None:
    """Refuse an ACL the bucket's ownership or public access block does not allow."""
    if not settings.acls_enabled(b.config):
        if not wanted.is_private and canned != acl.BUCKET_OWNER_FULL_CONTROL:
            raise access_error("AccessControlListNotSupported", b.name)
    if wanted.is_public and settings.PublicAccessBlock.of(b.config).block_public_acls:
        raise S3Error("AccessDenied", "Public ACLs are blocked by the BlockPublicAcls setting.")


async def _acl_from_request(ctx: Ctx, owner: str, bucket_owner: str, objects: bool) -> acl.Acl:
    """The ACL a Put*Acl request gives: in its headers or its AccessControlPolicy body, not both."""
    from_headers = acl.requested(ctx.headers, owner, bucket_owner, _users(ctx), objects)
    body = await read_document(ctx, MAX_BODY)
    if from_headers is not None:
        if body.strip():
            raise S3Error("UnexpectedContent", "This request does not support content", status=400)
        return from_headers
    if not body.strip():
        raise S3Error(
            "MissingSecurityHeader",
            "Your request was missing a required header",
            extra={"MissingHeaderName": "x-amz-acl"},
        )
    xml.conform(xml.parse(body), "AccessControlPolicy", ACCESS_CONTROL_POLICY, "MalformedACLError", MALFORMED_ACL)
    return acl.parse_document(body, owner, _users(ctx))


# ---------- ACLs ----------
async def get_bucket_acl(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    return xml_response(acl.render(settings.bucket_acl(b.config, b.owner)))


async def put_bucket_acl(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    wanted = await _acl_from_request(ctx, b.owner, b.owner, objects=False)
    _check_allowed(b, wanted, ctx.headers.get(acl.CANNED_HEADER))
    await ctx.store.set_bucket_config(b.name, settings.ACL, None if wanted.is_private else wanted.to_json())
    return empty(200)


async def get_object_acl(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    obj = await ctx.ns.find_object(b.name, ctx.key_bytes)
    if obj is None:
        raise S3Error("NoSuchKey", resource=ctx.resource, extra={"Key": ctx.key or ""})
    return xml_response(acl.render(acl.object_acl(obj.meta, b.owner)))


async def put_object_acl(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    obj = await ctx.ns.find_object(b.name, ctx.key_bytes)
    if obj is None:
        raise S3Error("NoSuchKey", resource=ctx.resource, extra={"Key": ctx.key or ""})
    current = acl.object_acl(obj.meta, b.owner)
    wanted = await _acl_from_request(ctx, current.owner, b.owner, objects=True)
    _check_allowed(b, wanted, ctx.headers.get(acl.CANNED_HEADER))
    meta = dict(obj.meta)
    meta.pop(acl.OBJECT_META, None)
    if not (wanted.is_private and wanted.owner == b.owner):
        meta[acl.OBJECT_META] = json.dumps(wanted.to_json())
    await ctx.store.replace_meta(b.name, ctx.key_bytes, obj.etag, meta, obj.tags)
    return empty(200)


def apply_to_object(ctx: Ctx, meta: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """Record in a new object's metadata the ACL its write asks for (x-amz-acl, x-amz-grant-*) and its owner."""
    meta.pop(acl.OBJECT_META, None)
    name = ctx.bucket or ""
    b = ctx.granted.get(name) or ctx.store.get_bucket(name)
    if b is None:
        return
    h = ctx.headers if headers is None else headers
    writer = ctx.user.name if ctx.user else ANONYMOUS_ID
    ownership = settings.ownership(b.config)
    canned = h.get(acl.CANNED_HEADER)
    writer_owns = ownership in (settings.OBJECT_WRITER, None) or (
        ownership == settings.OWNER_PREFERRED and canned != acl.BUCKET_OWNER_FULL_CONTROL
    )
    owner = writer if writer_owns else b.owner
    wanted = acl.requested(h, owner, b.owner, _users(ctx), objects=True)
    if wanted is None:
        wanted = acl.private(owner)
    else:
        _check_allowed(b, wanted, canned)
    if not (wanted.is_private and owner == b.owner):
        meta[acl.OBJECT_META] = json.dumps(wanted.to_json())


def bucket_settings(ctx: Ctx) -> dict[str, Any]:
    """The configuration a CreateBucket's x-amz-acl / x-amz-grant-* / x-amz-object-ownership headers ask for."""
    assert ctx.user is not None
    h = ctx.headers
    ownership = h.get(OWNERSHIP_HEADER)
    if ownership is not None and ownership not in settings.OWNERSHIPS:
        raise S3Error(
            "InvalidArgument", "Invalid x-amz-object-ownership header", extra={"ArgumentName": OWNERSHIP_HEADER}
        )
    out: dict[str, Any] = {}
    if ownership is not None and ownership != settings.OWNER_ENFORCED:
        out[settings.OWNERSHIP] = ownership
    wanted = acl.requested(h, ctx.user.name, ctx.user.name, _users(ctx), objects=False)
    if wanted is not None and not wanted.is_private:
        if settings.OWNERSHIP not in out:
            raise access_error("InvalidBucketAclWithObjectOwnership", ctx.bucket or "")
        if wanted.is_public:  # a new bucket blocks public access until its owner says otherwise
            raise access_error("InvalidBucketAclWithBlockPublicAccessError", ctx.bucket or "")
        out[settings.ACL] = wanted.to_json()
    return out


# ---------- ownership controls ----------
async def get_ownership_controls(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    ownership = settings.ownership(b.config)
    if ownership is None:
        raise access_error("OwnershipControlsNotFoundError", b.name)
    return xml_response(xml.document("OwnershipControls", [("Rule", [("ObjectOwnership", ownership)])]))


async def put_ownership_controls(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    root = xml.parse(await read_document(ctx, MAX_BODY))
    xml.conform(root, "OwnershipControls", OWNERSHIP_CONTROLS)
    rules = root.findall("Rule")
    value = root.findtext("Rule/ObjectOwnership")
    if len(rules) != 1 or value not in settings.OWNERSHIPS:
        raise S3Error("MalformedXML")
    if value == settings.OWNER_ENFORCED and not settings.bucket_acl(b.config, b.owner).is_private:
        raise access_error("InvalidBucketAclWithObjectOwnership", b.name)
    await ctx.store.set_bucket_config(b.name, settings.OWNERSHIP, value)
    return empty(200)


async def delete_ownership_controls(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, settings.OWNERSHIP, "")
    return empty(204)


# ---------- public access block ----------
async def get_public_access_block(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    flags = b.config.get(settings.PUBLIC_ACCESS_BLOCK, settings.DEFAULT_BLOCK)
    if not flags:
        raise access_error("NoSuchPublicAccessBlockConfiguration", b.name)
    nodes: list[xml.Node] = [(f, bool(flags.get(f))) for f in settings.BLOCK_FLAGS]
    return xml_response(xml.document("PublicAccessBlockConfiguration", nodes))


async def put_public_access_block(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    root = xml.parse(await read_document(ctx, MAX_BODY))
    xml.conform(root, "PublicAccessBlockConfiguration", PUBLIC_ACCESS_BLOCK)
    flags: dict[str, bool] = {}
    for f in settings.BLOCK_FLAGS:
        raw = root.findtext(f)
        if raw is None:
            flags[f] = False
        elif raw.strip().lower() in _BOOL:
            flags[f] = _BOOL[raw.strip().lower()]
        else:
            raise S3Error("MalformedXML")
    await ctx.store.set_bucket_config(b.name, settings.PUBLIC_ACCESS_BLOCK, flags)
    return empty(200)


async def delete_public_access_block(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, settings.PUBLIC_ACCESS_BLOCK, {})
    return empty(204)


HANDLERS = {
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
    "GetBucketOwnershipControls": get_ownership_controls,
    "PutBucketOwnershipControls": put_ownership_controls,
    "DeleteBucketOwnershipControls": delete_ownership_controls,
    "GetPublicAccessBlock": get_public_access_block,
    "PutPublicAccessBlock": put_public_access_block,
    "DeletePublicAccessBlock": delete_public_access_block,
}
