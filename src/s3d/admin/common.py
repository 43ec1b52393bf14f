"""What every admin endpoint uses: JSON answers and the signed-request check."""

from __future__ import annotations

import json
from typing import Any

from s3d.s3 import auth
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.server.http import Response


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(data, indent=1).encode() + b"\n")


def require_user(ctx: Ctx) -> None:
    secrets = ctx.settings.secrets()
    a = auth.verify(
        ctx.req.method, ctx.req.path, ctx.req.query, ctx.req.headers, ctx.query, secrets, ctx.settings.region
    )
    if a is None:
        raise S3Error("AccessDenied", "The s3d admin API needs a SigV4-signed request")
    ctx.auth = a
