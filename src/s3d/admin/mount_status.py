"""GET /_s3d/mounts: the daemon's [[mount]] entries and whether each mountpoint is mounted now (an admin sees
all; another user the mounts of its own buckets)."""

from __future__ import annotations

import os

from s3d.admin.common import json_response
from s3d.admin.scope import caller_scope
from s3d.s3.context import Ctx
from s3d.server.http import Response


async def mount_status(ctx: Ctx) -> Response:
    reached = caller_scope(ctx).buckets()
    mounts = [
        {
            "source": str(m.target),
            "mountpoint": str(m.mountpoint),
            "read_only": m.read_only,
            "filter": m.filter_text or None,
            "mounted": os.path.ismount(m.mountpoint),
        }
        for m in ctx.settings.mounts
        if reached is None or m.target.bucket in reached
    ]
    return json_response({"mounts": mounts, "configured": len(ctx.settings.mounts)})
