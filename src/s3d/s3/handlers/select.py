"""SelectObjectContent: an S3 Select query over one object, answered as an event stream.

The object is read through the namespace like a GET (local blobs, encrypted segments decrypted,
gateway objects through the block cache), range by range as DuckDB asks for them (s3/select/).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from s3d.s3 import encrypted
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import objects, sse
from s3d.s3.handlers.common import check_read_conditions, read_document
from s3d.s3.select import engine, request, syntax
from s3d.s3.select.source import RangeReader
from s3d.server.http import Response
from s3d.store.namespace import Namespace
from s3d.store.objects import Object
from s3d.store.ranges import Body
from s3d.store.store import close_spans

MAX_REQUEST = 1024 * 1024  # the request document (the expression itself is at most 256 KB)
EVENT_STREAM = "application/vnd.amazon.eventstream"


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def _namespace_reader(ns: Namespace, obj: Object, loop: asyncio.AbstractEventLoop) -> RangeReader:
    """Bytes of obj as the namespace serves a GET of them, for the query thread."""

    def read(offset: int, length: int) -> bytes:
        end = min(obj.size, offset + length) - 1
        if end < offset:
            return b""
        body: Body = asyncio.run_coroutine_threadsafe(ns.open_range(obj, offset, end), loop).result()[0]
        if isinstance(body, bytes):
            return body
        if isinstance(body, list):
            try:
                return b"".join(p if isinstance(p, bytes) else os.pread(p.fd, p.length, p.offset) for p in body)
            finally:
                close_spans(body)
        return asyncio.run_coroutine_threadsafe(_collect(body), loop).result()

    return read


def _plaintext_reader(ctx: Ctx, obj: Object, data_key: bytes) -> RangeReader:
    """Bytes of an encrypted local object, decrypted segment by segment."""

    def read(offset: int, length: int) -> bytes:
        end = min(obj.size, offset + length) - 1
        if end < offset:
            return b""
        return b"".join(encrypted.plaintext(ctx.store, obj, data_key, offset, end))

    return read


async def select_object_content(ctx: Ctx) -> Response:
    if ctx.query.get("select-type") != "2":
        raise S3Error("InvalidArgument", "select-type must be 2.", extra={"ArgumentName": "select-type"})
    body = await read_document(ctx, MAX_REQUEST)
    req = request.parse(body)
    query = syntax.parse(req.expression)
    obj, _headers = await objects.find_for_read(ctx)
    env = sse.envelope_of(obj.meta)
    data_key: bytes | None = None
    if env is not None or sse.presents_customer_key(ctx.headers):
        data_key = sse.open_key(ctx, env, obj, sse.customer_key(ctx.headers))
    check_read_conditions(obj, ctx.headers)
    loop = asyncio.get_running_loop()
    if data_key is not None and not obj.is_remote:
        read = _plaintext_reader(ctx, obj, data_key)
    else:
        read = _namespace_reader(ctx.ns, obj, loop)
    job = engine.Job(engine.Query(req, query, read, obj.size, ctx.store.scratch))
    await job.start()
    return Response(200, [("Content-Type", EVENT_STREAM)], job.stream())


HANDLERS = {"SelectObjectContent": select_object_content}
