"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from urllib.parse import unquote

from s3d.access import authorize
from s3d.s3 import checksums, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import acls
from s3d.s3.handlers.common import (
    check_read_conditions,
    empty,
    metadata_from_headers,
    object_headers,
    parse_range,
    read_document,
    tags_from_header,
    xml_response,
)
from s3d.s3.payload import Payload
from s3d.server.http import BodyT, FileRange, Response
from s3d.store.blobs import storage_error
from s3d.store.store import Conditions, Object, ObjectChanged, Store

RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
MAX_DELETE_BODY = 2 * 1024 * 1024
DEFAULT_CHECKSUM = "CRC64NVME"


# ---------- receiving data ----------
async def receive(store: Store, payload: Payload) -> tuple[bytes | None, str | None]:
    """Take a request body to durable storage: (inline bytes, None) or (None, blob name).

    Small bodies stay in memory and are committed inline with their metadata;
    larger ones stream to a blob file that is fsynced and renamed before the
    metadata commit (see store/blobs.py for why that order).
    """
    if payload.expected_size is not None and payload.expected_size <= store.inline_max:
        data = await payload.read_all()
        payload.finish()
        return data, None
    return None, await stream_to_blob(store, payload)


async def stream_to_blob(store: Store, payload: Payload) -> str:
    """Stream a verified body into a new durable blob; nothing is left behind if it fails."""
    writer = store.new_blob()
    try:
        async for chunk in payload.chunks():
            writer.write(chunk)
        payload.finish()
    except BaseException:
        writer.discard()
        raise
    return await writer.commit()


def checksum_record(payload: Payload) -> dict[str, str] | None:
    cv = payload.checksum_value
    if cv is None:
        return None
    return {"algorithm": cv[0], "value": cv[1], "type": "FULL_OBJECT"}


def checksum_headers(obj: Object, requested: bool) -> list[tuple[str, str]]:
    if not requested or not obj.checksum:
        return []
    algo = obj.checksum["algorithm"]
    return [
        (checksums.HEADER[algo], obj.checksum["value"]),
        ("x-amz-checksum-type", obj.checksum.get("type", "FULL_OBJECT")),
    ]


def write_conditions(headers: dict[str, str]) -> Conditions | None:
    inm = headers.get("if-none-match")
    im = headers.get("if-match")
    if inm is None and im is None:
        return None
    if inm is not None and inm.strip() != "*":
        raise S3Error("NotImplemented", "If-None-Match on a write only supports '*'", resource="")
    return Conditions(if_none_match=inm is not None, if_match=im)


# ---------- PutObject ----------
async def put_object(ctx: Ctx) -> Response:
    assert ctx.bucket is not None
    h = ctx.headers
    meta = metadata_from_headers(h)
    acls.apply_to_object(ctx, meta)
    tags = tags_from_header(h.get("x-amz-tagging"))
    cond = write_conditions(h)
    payload = Payload(h, ctx.auth, ctx.req.body, checksum_algorithm=DEFAULT_CHECKSUM)
    if payload.expected_size is None or payload.expected_size > ctx.store.inline_max:
        ctx.need_bucket()  # before streaming a large body; small ones are checked when they commit
    data, blob = await receive(ctx.store, payload)
    obj = Object(
        bucket=ctx.bucket,
        key=ctx.key_bytes,
        size=payload.size,
        etag=payload.etag,
        mtime=time.time(),
        version=0,
        meta=meta,
        checksum=checksum_record(payload),
        tags=tags,
        blob=blob,
        data=data,
    )
    await ctx.store.put_object(obj, cond, owner=authorize.owner_of(ctx))
    requested = (
        any(k.startswith("x-amz-checksum-") for k in h)
        or "x-amz-sdk-checksum-algorithm" in h
        or bool(payload.trailer_names)
    )
    return empty(200, [("ETag", f'"{obj.etag}"'), *checksum_headers(obj, requested)])


# ---------- reading ----------
def open_body(store: Store, obj: Object, start: int, end: int) -> BodyT:
    """The bytes [start, end] of an object, as something the server can stream. FileNotFoundError if it moved."""
    length = end - start + 1
    if obj.data is not None:
        return obj.data[start : end + 1]
    if obj.blob is not None:
        return FileRange(store.blobs.open_read(obj.blob), start, length)
    pieces: list[FileRange | bytes] = []
    offset = 0
    try:
        for p in obj.parts or []:
            p_start, p_end = offset, offset + p.size - 1
            offset += p.size
            if p_end < start or p_start > end or p.size == 0:
                continue
            lo = max(start, p_start) - p_start
            hi = min(end, p_end) - p_start
            pieces.append(FileRange(store.blobs.open_read(p.blob), lo, hi - lo + 1))
    except FileNotFoundError:
        for piece in pieces:
            if isinstance(piece, FileRange):
                os.close(piece.fd)
        raise
    return pieces


async def _lookup(ctx: Ctx) -> Object:
    obj = await ctx.store.find_object(ctx.bucket or "", ctx.key_bytes)
    if obj is None:
        raise S3Error("NoSuchKey", resource=ctx.resource, extra={"Key": ctx.key or ""})
    return obj


async def get_object(ctx: Ctx) -> Response:
    return await _read(ctx, head=False)


async def head_object(ctx: Ctx) -> Response:
    return await _read(ctx, head=True)


async def _read(ctx: Ctx, head: bool) -> Response:
    q = ctx.query
    for attempt in range(5):
        bucket, found = await ctx.store.find_with_bucket(ctx.bucket or "", ctx.key_bytes)
        ctx.check_bucket(ctx.bucket or "", bucket)
        if found is None:
            raise S3Error("NoSuchKey", resource=ctx.resource, extra={"Key": ctx.key or ""})
        obj = found
        check_read_conditions(obj, ctx.headers)
        headers = object_headers(obj, ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED")
        part = q.get("partNumber")
        rng: tuple[int, int] | None
        if part is not None:
            rng = _part_range(obj, part, ctx.headers.get("range"))
        else:
            rng = parse_range(ctx.headers.get("range"), obj.size)
        status = 200
        start, end = 0, obj.size - 1
        if rng is not None:
            status = 206
            start, end = rng
            headers.append(("Content-Range", f"bytes {start}-{end}/{obj.size}"))
            # a checksum covers the whole object, never a range of it
            headers = [(k, v) for k, v in headers if not k.startswith("x-amz-checksum-")]
        for param, name in RESPONSE_OVERRIDES.items():
            if param in q:
                headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
                headers.append((name, q[param]))
        length = max(0, end - start + 1)
        if head or length == 0:
            if ctx.settings.gateway is not None:
                headers.append(("x-s3d-cache", "miss" if obj.is_remote else "hit"))
            return Response(status, headers, b"", content_length=length)
        body: BodyT
        try:
            if obj.is_remote:
                body, how = await ctx.store.remote_body(obj, start, end)
                headers.append(("x-s3d-cache", how))
            else:
                body = open_body(ctx.store, obj, start, end)
                if ctx.settings.gateway is not None:
                    headers.append(("x-s3d-cache", "hit"))
        except (FileNotFoundError, ObjectChanged):
            await asyncio.sleep(0.001 * attempt)
            continue  # replaced between lookup and open: look again
        return Response(status, headers, body, content_length=length)
    raise S3Error("InternalError", "the object changed too often while being read")


def _part_range(obj: Object, raw: str, range_header: str | None) -> tuple[int, int] | None:
    if range_header:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
    try:
        n = int(raw)
    except ValueError:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive") from None
    if not 1 <= n <= 10000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
    if not obj.parts:
        if n != 1:
            raise S3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", status=416)
        return (0, obj.size - 1) if obj.size else None
    if n > len(obj.parts):
        raise S3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", status=416)
    start = sum(p.size for p in obj.parts[: n - 1])
    return start, start + obj.parts[n - 1].size - 1


# ---------- deleting ----------
async def delete_object(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    await ctx.store.delete_object(ctx.bucket, ctx.key_bytes)
    return empty(204)


async def delete_objects(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    assert ctx.bucket is not None
    h = ctx.headers
    if (
        "content-md5" not in h
        and not any(k.startswith("x-amz-checksum-") for k in h)
        and "x-amz-sdk-checksum-algorithm" not in h
    ):
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
    body = await read_document(ctx, MAX_DELETE_BODY)
    root = xml.parse(body)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (xml.text(root, "Quiet") or "").strip().lower() == "true"
    objects = root.findall("Object")
    if not objects or len(objects) > 1000:
        raise S3Error("MalformedXML")
    nodes: list[xml.Node] = []
    for o in objects:
        key = xml.text(o, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        try:
            if len(key.encode()) > 1024:
                raise S3Error("KeyTooLongError")
            authorize.check_key(ctx, b, "s3:DeleteObject", key)
            await ctx.store.delete_object(ctx.bucket, key.encode())
            if not quiet:
                nodes.append(("Deleted", [("Key", key)]))
        except S3Error as e:
            nodes.append(("Error", [("Key", key), ("Code", e.code), ("Message", e.message)]))
    return xml_response(xml.document("DeleteResult", nodes))


# ---------- CopyObject ----------
def parse_copy_source(ctx: Ctx) -> tuple[str, bytes]:
    raw = ctx.headers["x-amz-copy-source"]
    path, _, version = raw.partition("?")
    if version and not version.startswith("versionId=null"):
        raise S3Error("NotImplemented", "s3d does not keep object versions", resource="")
    path = unquote(path).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
    return bucket, key.encode()


async def _aiter(chunks: AsyncIterator[bytes] | list[bytes]) -> AsyncIterator[bytes]:
    if isinstance(chunks, list):
        for c in chunks:
            yield c
    else:
        async for c in chunks:
            yield c


async def fetch_remote(store: Store, src: Object, start: int, end: int) -> tuple[bytes | None, str | None, str]:
    """Bytes [start, end] of a remote-only object, brought into a local blob (or inline), and their MD5."""
    md5 = hashlib.md5()
    if end < start:
        return b"", None, md5.hexdigest()
    writer = store.new_blob()
    try:
        stream, _ = await store.remote_body(src, start, end)
        chunks = [stream] if isinstance(stream, bytes) else stream
        async for chunk in _aiter(chunks):
            md5.update(chunk)
            writer.write(chunk)
    except BaseException:
        writer.discard()
        raise
    return None, await writer.commit(), md5.hexdigest()


async def copy_data(store: Store, src: Object) -> tuple[bytes | None, str | None, str]:
    """A private copy of src's bytes (inline or a new blob) and its MD5 etag."""
    if src.data is not None:
        return src.data, None, src.etag
    if src.is_remote:
        return await fetch_remote(store, src, 0, src.size - 1)
    writer = store.new_blob()
    loop = asyncio.get_running_loop()
    fds: list[tuple[int, int]] = []
    try:
        for blob, size in [(src.blob, src.size)] if src.blob else [(p.blob, p.size) for p in src.parts or []]:
            fds.append((store.blobs.open_read(blob), size))
        md5 = hashlib.md5() if src.parts else None

        def copy() -> None:
            for fd, size in fds:
                off = 0
                while off < size:
                    if md5 is None:
                        n = os.copy_file_range(fd, writer.fd, size - off, off)
                        if n == 0:
                            raise OSError("short blob")
                        writer.size += n
                        off += n
                    else:
                        chunk = os.pread(fd, 1 << 20, off)
                        if not chunk:
                            raise OSError("short blob")
                        md5.update(chunk)
                        writer.write(chunk)
                        off += len(chunk)

        writer.dir.check_space(writer.fd, src.size)
        await loop.run_in_executor(None, copy)
    except OSError as e:
        writer.discard()
        raise storage_error(e) from e
    except BaseException:
        writer.discard()
        raise
    finally:
        for fd, _ in fds:
            os.close(fd)
    return None, await writer.commit(), md5.hexdigest() if md5 else src.etag


async def copy_object(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    h = ctx.headers
    src_bucket, src_key = parse_copy_source(ctx)
    ctx.need_bucket(src_bucket)
    directive = h.get("x-amz-metadata-directive", "COPY").upper()
    tag_directive = h.get("x-amz-tagging-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE") or tag_directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata or tagging directive")
    for _attempt in range(5):
        src = await ctx.store.find_object(src_bucket, src_key)
        if src is None:
            raise S3Error("NoSuchKey", resource=f"/{src_bucket}/{src_key.decode()}", extra={"Key": src_key.decode()})
        check_read_conditions(src, h, prefix="x-amz-copy-source-if-")
        meta = metadata_from_headers(h) if directive == "REPLACE" else dict(src.meta)
        if directive == "COPY" and "x-amz-storage-class" in h:
            meta.update(
                {k: v for k, v in metadata_from_headers({"x-amz-storage-class": h["x-amz-storage-class"]}).items()}
            )
        acls.apply_to_object(ctx, meta)
        tags = tags_from_header(h.get("x-amz-tagging")) if tag_directive == "REPLACE" else src.tags
        same = src_bucket == ctx.bucket and src_key == ctx.key_bytes
        if same and not src.is_remote:
            if directive != "REPLACE" and "x-amz-storage-class" not in h and tag_directive != "REPLACE":
                raise S3Error(
                    "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
                )
            obj = await ctx.store.replace_meta(ctx.bucket, src_key, src.etag, meta, tags)
            break
        try:
            data, blob, etag = await copy_data(ctx.store, src)
        except (FileNotFoundError, ObjectChanged):
            continue  # the source was replaced while we opened it
        obj = Object(
            bucket=ctx.bucket,
            key=ctx.key_bytes,
            size=src.size,
            etag=etag,
            mtime=time.time(),
            version=0,
            meta=meta,
            checksum=src.checksum if src.checksum and not src.parts else None,
            tags=tags,
            blob=blob,
            data=data,
        )
        await ctx.store.put_object(obj, write_conditions(h))
        break
    else:
        raise S3Error("InternalError", "the source changed too often while being copied")
    nodes: list[xml.Node] = [("LastModified", xml.iso8601(obj.mtime)), ("ETag", f'"{obj.etag}"')]
    if obj.checksum:
        nodes.append((f"Checksum{obj.checksum['algorithm']}", obj.checksum["value"]))
    return xml_response(xml.document("CopyObjectResult", nodes))


HANDLERS = {
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
    "CopyObject": copy_object,
}
