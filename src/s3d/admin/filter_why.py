"""GET /_s3d/filter/why?bucket=&key=: each filter's decision about a live object, for the caller's own buckets (an
admin's: every bucket)."""

from __future__ import annotations

from s3d.admin.common import json_response
from s3d.admin.scope import caller_scope
from s3d.filters import why
from s3d.filters.objects import bucket_tags
from s3d.filters.setting import Feature
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.server.http import Response
from s3d.store import cache_index


async def filter_why(ctx: Ctx) -> Response:
    scope = caller_scope(ctx)  # the caller's own buckets (an admin's: all), as every admin endpoint
    name, key = ctx.query.get("bucket"), ctx.query.get("key")
    if not name or not key:
        raise S3Error("InvalidArgument", "bucket and key are required")
    b = scope.need_bucket(name)
    obj = await ctx.ns.find_object(name, key.encode())
    if obj is None:
        raise S3Error("NoSuchKey", resource=f"/{name}/{key}", extra={"Key": key})
    pinned = None
    if ctx.gateway is not None:
        pinned = cache_index.pinned(ctx.store.reader, name, obj.key)
    filters = {f: ctx.settings.filter_for(f) for f in Feature}
    return json_response(why.explain(filters, obj, bucket_tags(b.config), pinned))
