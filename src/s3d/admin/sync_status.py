"""GET /_s3d/sync: the sync pairs of the caller's own buckets, as the sync last published them."""

from __future__ import annotations

from s3d.admin.common import json_response, require_user
from s3d.s3.context import Ctx
from s3d.server.http import Response
from s3d.store import sync_state


async def sync_status(ctx: Ctx) -> Response:
    require_user(ctx)
    assert ctx.auth is not None
    user = next((u for u in ctx.settings.users if u.access_key == ctx.auth.access_key), None)
    configured = {p.name for p in ctx.settings.sync}
    pairs = []
    for status in sync_state.all_status(ctx.store.reader):
        b = ctx.store.get_bucket(str(status.get("bucket")))
        if status.get("pair") in configured and b is not None and user is not None and b.owner == user.name:
            pairs.append(status)
    return json_response({"pairs": pairs, "configured": len(configured)})
