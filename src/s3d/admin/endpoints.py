"""The daemon's own endpoints under /_s3d/: health and readiness (open), status (signed)."""

from __future__ import annotations

import json
from typing import Any

from s3d.s3 import auth
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import empty
from s3d.server.http import Response


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(data, indent=1).encode() + b"\n")


def require_user(ctx: Ctx) -> None:
    secrets = ctx.settings.secrets()
    a = auth.verify(ctx.req.method, ctx.req.path, ctx.req.query, ctx.req.headers, ctx.query, secrets)
    if a is None:
        raise S3Error("AccessDenied", "The s3d admin API needs a SigV4-signed request")
    ctx.auth = a


async def health(ctx: Ctx) -> Response:
    return json_response({"status": "ok"})


async def ready(ctx: Ctx) -> Response:
    return json_response({"ready": True, "store": "open"})


async def status(ctx: Ctx) -> Response:
    require_user(ctx)
    return json_response(ctx.store.status())


OPEN = {("GET", "/_s3d/health"): health, ("GET", "/_s3d/ready"): ready}
SIGNED = {("GET", "/_s3d/status"): status}


async def handle(ctx: Ctx) -> Response:
    from s3d.s3.app import error_response

    key = (ctx.req.method if ctx.req.method != "HEAD" else "GET", ctx.req.path.rstrip("/"))
    try:
        handler = OPEN.get(key) or SIGNED.get(key)
        if handler is None:
            if any(p == key[1] for _, p in list(OPEN) + list(SIGNED)):
                raise S3Error("MethodNotAllowed")
            raise S3Error("NotImplemented", f"no admin endpoint {key[1]}")
        return await handler(ctx)
    except S3Error as e:
        return error_response(e, ctx.request_id, ctx.req.path, ctx.req.method)
