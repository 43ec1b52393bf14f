"""GET /_s3d/sync: the sync pairs as the sync last published them (an admin sees all; another user
the pairs of its own buckets)."""

from __future__ import annotations

from s3d.admin.common import json_response
from s3d.admin.scope import caller_scope
from s3d.s3.context import Ctx
from s3d.server.http import Response
from s3d.store import sync_state


async def sync_status(ctx: Ctx) -> Response:
    reached = caller_scope(ctx).buckets()
    configured = {p.name for p in ctx.settings.sync}
    pairs = [
        s
        for s in sync_state.all_status(ctx.store.reader)
        if s.get("pair") in configured and (reached is None or s.get("bucket") in reached)
    ]
    return json_response({"pairs": pairs, "configured": len(configured)})
