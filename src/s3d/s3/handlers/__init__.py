"""Per-resource handlers; HANDLERS maps an operation name (see routes.py) to its coroutine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from s3d.s3.handlers import (
    acls,
    buckets,
    cors,
    lifecycle,
    listing,
    lock,
    multipart,
    objects,
    policies,
    post,
    select,
    sse,
    tagging,
    versioning,
)

if TYPE_CHECKING:
    from s3d.s3.context import Ctx
    from s3d.server.http import Response

HANDLERS: dict[str, Callable[[Ctx], Awaitable[Response]]] = {
    **buckets.HANDLERS,
    **listing.HANDLERS,
    **objects.HANDLERS,
    **multipart.HANDLERS,
    **tagging.HANDLERS,
    **cors.HANDLERS,
    **post.HANDLERS,
    **sse.HANDLERS,
    **versioning.HANDLERS,
    **lock.HANDLERS,
    **lifecycle.HANDLERS,
    **policies.HANDLERS,
    **acls.HANDLERS,
    **select.HANDLERS,
}
