"""Bucket policies: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus."""

from __future__ import annotations

from s3d.access import settings
from s3d.access.authorize import directory
from s3d.access.errors import access_error
from s3d.access.policy import MAX_POLICY_BYTES, compiled, malformed
from s3d.s3 import xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import empty, read_document, xml_response
from s3d.server.http import Response

JSON_CONTENT = "application/json"


async def put_bucket_policy(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    body = await read_document(ctx, MAX_POLICY_BYTES + 1)
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise malformed("This policy contains invalid Json") from None
    if not text.strip():
        raise malformed("Policies must be valid JSON and the first byte must be '{'")
    policy = compiled(text, b.name, directory(ctx.settings).resolve)
    if policy.is_public and settings.PublicAccessBlock.of(b.config).block_public_policy:
        raise S3Error("AccessDenied", "Public policies are blocked by the BlockPublicPolicy setting.")
    await ctx.store.set_bucket_config(b.name, settings.POLICY, text)
    return empty(204)


async def get_bucket_policy(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    text = b.config.get(settings.POLICY)
    if not text:
        raise access_error("NoSuchBucketPolicy", b.name)
    return Response(200, [("Content-Type", JSON_CONTENT)], text.encode())


async def delete_bucket_policy(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, settings.POLICY, None)
    return empty(204)


async def get_bucket_policy_status(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    text = b.config.get(settings.POLICY)
    if not text:
        raise access_error("NoSuchBucketPolicy", b.name)
    public = compiled(text, b.name, directory(ctx.settings).resolve).is_public
    return xml_response(xml.document("PolicyStatus", [("IsPublic", public)]))


HANDLERS = {
    "PutBucketPolicy": put_bucket_policy,
    "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetBucketPolicyStatus": get_bucket_policy_status,
}
