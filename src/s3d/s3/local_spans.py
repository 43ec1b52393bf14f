"""Where an object's bytes lie on this machine, for a mount on it that asked (s3d.local_read)."""

from __future__ import annotations

import ipaddress

from s3d import local_read
from s3d.s3.context import Ctx
from s3d.store.objects import Object


def offer(ctx: Ctx, obj: Object, encrypted: bool) -> list[tuple[str, str]]:
    """The answer's header naming the object's blob files, if asked for and they can be read as they are."""
    if ctx.headers.get(local_read.HEADER) != local_read.ASK or encrypted or not is_loopback(ctx.req.client):
        return []
    blobs = [(obj.blob, obj.size)] if obj.blob and obj.size else [(p.blob, p.size) for p in obj.parts or [] if p.size]
    if not blobs or len(blobs) > local_read.MAX_SPANS:
        return []  # inline bytes, a remote object, an empty one or too many parts: over HTTP
    spans = []
    for blob, size in blobs:
        path = ctx.store.blobs.local_path(blob)
        if path is None:
            return []
        spans.append(local_read.LocalSpan(path, size))
    return [(local_read.HEADER, local_read.encode(spans))]


def is_loopback(client: str) -> bool:
    try:
        return ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False
