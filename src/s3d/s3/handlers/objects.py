"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject."""

from __future__ import annotations

import asyncio
import hashlib
from urllib.parse import unquote, unquote_to_bytes

from s3d.access import authorize
from s3d.access.actions import action_of
from s3d.s3 import checksums, encrypted, local_spans, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import acls, conditional_delete, sse
from s3d.s3.handlers.common import (
    LOCKED_PUT_INTEGRITY,
    bypass_governance,
    check_read_conditions,
    check_version_id,
    empty,
    expiration_header,
    has_integrity_header,
    header_value_ok,
    http_date,
    lock_meta_from_headers,
    metadata_from_headers,
    object_headers,
    parse_range,
    part_number,
    read_document,
    requested_version,
    require_integrity_header,
    tags_from_header,
    version_header,
    xml_response,
)
from s3d.s3.payload import Payload
from s3d.s3.store_errors import to_s3
from s3d.server.http import BodyT, FileRange, Response
from s3d.store import locks, versions
from s3d.store.buckets import VERSIONING
from s3d.store.errors import ObjectChanged, StoreError
from s3d.store.objects import Conditions, Object
from s3d.store.ranges import Body
from s3d.store.versions import Removal
from s3d.store.writer import Draft, ObjectWriter

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
CACHE_HEADER = "x-s3d-cache"  # gateway mode: how a GET or HEAD was served
COPY_ATTEMPTS = 5  # a source replaced while being copied is looked up again, this often
BROWSER_DOCUMENTS = frozenset({"document", "iframe", "frame", "embed", "object"})  # Sec-Fetch-Dest of a page load


# ---------- receiving data ----------
async def receive(writer: ObjectWriter, payload: Payload) -> None:
    """Feed a verified request body to an object writer (small bodies in one piece)."""
    if payload.expected_size is not None and payload.expected_size <= writer.inline_max:
        writer.write(await payload.read_all())
    else:
        async for chunk in payload.chunks():
            writer.write(chunk)
    payload.finish()


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
    meta.update(lock_meta_from_headers(ctx))
    if not has_integrity_header(h) and (locks.has_lock(meta) or locks.has_default(ctx.need_bucket().config)):
        raise S3Error("InvalidRequest", LOCKED_PUT_INTEGRITY)
    acls.apply_to_object(ctx, meta)
    tags = tags_from_header(h.get("x-amz-tagging"))
    cond = write_conditions(h)
    if cond is not None:
        await ctx.ns.find_object(ctx.bucket, ctx.key_bytes)  # a key only on the remote counts (gateway mode)
    payload = Payload(h, ctx.auth, ctx.req.body, checksum_algorithm=DEFAULT_CHECKSUM)
    if payload.expected_size is None or payload.expected_size > ctx.store.inline_max:
        ctx.need_bucket()  # before streaming a large body; small ones are checked when they commit
    spec = sse.write_spec(h, sse.bucket_default(ctx, ctx.bucket))
    data_key, env = sse.seal(ctx, spec) if spec else (None, None)
    meta = sse.with_envelope(meta, env)
    with ctx.store.writer(payload.expected_size, data_key=data_key) as w:
        await receive(w, payload)
        etag = sse.etag(spec.kind if spec else None, data_key, payload.etag)
        draft = Draft(ctx.bucket, ctx.key_bytes, etag, meta, checksum_record(payload), tags)
        obj = await w.commit_object(draft, cond, owner=authorize.owner_of(ctx))
    requested = (
        any(k.startswith("x-amz-checksum-") for k in h)
        or "x-amz-sdk-checksum-algorithm" in h
        or bool(payload.trailer_names)
    )
    return empty(
        200,
        [
            ("ETag", f'"{obj.etag}"'),
            *checksum_headers(obj, requested),
            *sse.response_headers(env, spec.customer if spec else None, write=True),
            *version_header(ctx, obj),
        ],
    )


# ---------- reading ----------
def response_body(body: Body) -> BodyT:
    """What the HTTP layer streams, from what a read of the store or the cache handed back."""
    if isinstance(body, list):
        pieces: list[FileRange | bytes] = [
            p if isinstance(p, bytes) else FileRange(p.fd, p.offset, p.length) for p in body
        ]
        if len(pieces) == 1:
            return pieces[0]
        return pieces
    return body


async def _lookup(ctx: Ctx) -> Object:
    obj = await ctx.ns.find_object(ctx.bucket or "", ctx.key_bytes)
    if obj is None:
        raise S3Error("NoSuchKey", resource=ctx.resource, extra={"Key": ctx.key or ""})
    return obj


async def get_object(ctx: Ctx) -> Response:
    return await _read(ctx, head=False)


async def head_object(ctx: Ctx) -> Response:
    return await _read(ctx, head=True)


async def find_for_read(ctx: Ctx) -> tuple[Object, list[tuple[str, str]]]:
    """The version a GET or HEAD reads (the current one, or ``versionId``'s) and its version headers."""
    name = ctx.bucket or ""
    version_id = requested_version(ctx)
    if version_id is not None:
        ctx.need_bucket()
        v = ctx.store.find_version(name, ctx.key_bytes, version_id)
        if v is None:
            raise S3Error("NoSuchVersion", resource=ctx.resource, extra={"Key": ctx.key or "", "VersionId": version_id})
        headers = [("x-amz-version-id", version_id)]
        if v.marker:
            raise S3Error(
                "MethodNotAllowed",
                resource=ctx.resource,
                extra={"Method": ctx.req.method, "ResourceType": "DeleteMarker"},
                headers=[*headers, ("x-amz-delete-marker", "true"), ("Last-Modified", http_date(v.obj.mtime))],
            )
        return v.obj, headers
    bucket, found = await ctx.ns.find_with_bucket(name, ctx.key_bytes)
    b = ctx.check_bucket(name, bucket)
    versioned = b.config.get(VERSIONING) is not None
    if found is None:
        marker = ctx.store.latest_marker(name, ctx.key_bytes) if versioned else None
        extra = []
        if marker is not None:
            extra = [("x-amz-delete-marker", "true"), ("x-amz-version-id", versions.s3_id(marker.obj.version_id))]
        raise S3Error("NoSuchKey", resource=ctx.resource, extra={"Key": ctx.key or ""}, headers=extra)
    headers = expiration_header(ctx, b.config, found)
    if versioned:
        headers.append(("x-amz-version-id", versions.s3_id(found.version_id)))
    return found, headers


async def _read(ctx: Ctx, head: bool) -> Response:
    q = ctx.query
    for attempt in range(5):
        obj, version_headers = await find_for_read(ctx)
        env = sse.envelope_of(obj.meta)
        presented: sse.CustomerKey | None = None
        data_key: bytes | None = None
        sse.refuse_write_headers(ctx.headers)
        if env is not None or sse.presents_customer_key(ctx.headers):
            presented = sse.customer_key(ctx.headers)
            data_key = sse.open_key(ctx, env, obj, presented)
        check_read_conditions(obj, ctx.headers)
        headers = object_headers(obj, ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED")
        if env is not None:
            headers += sse.response_headers(env, presented)
        headers += version_headers
        headers += local_spans.offer(ctx, obj, encrypted=env is not None)
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
                if not header_value_ok(q[param]):
                    raise S3Error(
                        "InvalidArgument", f"{param} is not a valid header value", extra={"ArgumentName": param}
                    )
                headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
                headers.append((name, q[param]))
        if ctx.settings.console and ctx.headers.get("sec-fetch-dest", "") in BROWSER_DOCUMENTS:
            # opened in a browser tab on the console's origin: the object's own scripts run sandboxed, in an
            # origin of their own, so they cannot act as the user signed in to the console (docs/console.md)
            headers.append(("Content-Security-Policy", "sandbox"))
        length = max(0, end - start + 1)
        if head or length == 0:
            how = ctx.ns.served_from(obj)
            if how is not None:
                headers.append((CACHE_HEADER, how))
            return Response(status, headers, b"", content_length=length)
        try:
            if data_key is not None and not obj.is_remote:
                out: BodyT = encrypted.open_body(ctx.store, obj, data_key, start, end)
                how = ctx.ns.served_from(obj)
            else:
                body, how = await ctx.ns.open_range(obj, start, end)
                out = response_body(body)
            if how is not None:
                headers.append((CACHE_HEADER, how))
        except (FileNotFoundError, ObjectChanged):
            await asyncio.sleep(0.001 * attempt)
            continue  # replaced between lookup and open: look again
        return Response(status, headers, out, content_length=length)
    raise S3Error("InternalError", "the object changed too often while being read")


def _part_range(obj: Object, raw: str, range_header: str | None) -> tuple[int, int] | None:
    if range_header:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
    n = part_number(raw)
    if n > (len(obj.parts) if obj.parts else 1):
        # AWS: 400 InvalidPart for a part the object does not have (a non-multipart object has part 1)
        raise S3Error("InvalidPart", f"The object has no part {n}.", extra={"PartNumber": str(n)})
    if not obj.parts:
        return (0, obj.size - 1) if obj.size else None
    start = sum(p.size for p in obj.parts[: n - 1])
    return start, start + obj.parts[n - 1].size - 1


# ---------- deleting ----------
def removal_headers(removal: Removal, versioned: bool) -> list[tuple[str, str]]:
    headers = []
    if removal.marker:
        headers.append(("x-amz-delete-marker", "true"))
    if versioned and (removal.found or removal.marker):
        headers.append(("x-amz-version-id", versions.s3_id(removal.version_id)))
    return headers


async def delete_object(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    version_id = requested_version(ctx)
    check = conditional_delete.from_headers(ctx.headers)
    if check is not None:
        await ctx.ns.find_object(b.name, ctx.key_bytes)  # in gateway mode, learns a remote-only object
    removal = await ctx.ns.delete_object(b.name, ctx.key_bytes, check, version_id, bypass_governance(ctx, b))
    return empty(204, removal_headers(removal, version_id is not None or b.config.get(VERSIONING) is not None))


DELETE = xml.Shape(
    {
        "Object": xml.Shape(
            {"Key": xml.TEXT, "VersionId": xml.TEXT, "ETag": xml.TEXT, "LastModifiedTime": xml.TEXT, "Size": xml.TEXT},
            repeated=True,
        ),
        "Quiet": xml.TEXT,
    }
)


async def delete_objects(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    assert ctx.bucket is not None
    require_integrity_header(ctx)
    body = await read_document(ctx, MAX_DELETE_BODY)
    root = xml.parse(body)
    xml.conform(root, "Delete", DELETE)
    quiet = xml.boolean(root, "Quiet", False)
    objects = root.findall("Object")
    if not objects or len(objects) > 1000:
        raise S3Error("MalformedXML")
    nodes: list[xml.Node] = []
    for o in objects:
        key = xml.text(o, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        version_id = xml.text(o, "VersionId")
        try:
            if len(key.encode()) > 1024:
                raise S3Error("KeyTooLongError")
            authorize.check_key(ctx, b, action_of("DeleteObject", version_id), key)
            if version_id is not None:
                check_version_id(version_id)
            bypass = bypass_governance(ctx, b, key)
            check = conditional_delete.from_entry(
                xml.text(o, "ETag"), xml.text(o, "LastModifiedTime"), xml.text(o, "Size")
            )
            if check is not None:
                await ctx.ns.find_object(ctx.bucket, key.encode())
            removal = await ctx.ns.delete_object(ctx.bucket, key.encode(), check, version_id, bypass)
            if not quiet:
                nodes.append(("Deleted", deleted_nodes(key, version_id, removal, b.config.get(VERSIONING) is not None)))
        except (S3Error, StoreError) as e:
            err = to_s3(e) if isinstance(e, StoreError) else e
            nodes.append(
                ("Error", [("Key", key), ("VersionId", version_id), ("Code", err.code), ("Message", err.message)])
            )
    return xml_response(xml.document("DeleteResult", nodes))


def deleted_nodes(key: str, version_id: str | None, removal: Removal, versioned: bool) -> list[xml.Node]:
    nodes: list[xml.Node] = [("Key", key), ("VersionId", version_id)]
    if removal.marker:
        nodes.append(("DeleteMarker", True))
        if version_id is not None or versioned:
            nodes.append(("DeleteMarkerVersionId", versions.s3_id(removal.version_id)))
    return nodes


# ---------- CopyObject ----------
COPY_SOURCE_VERSION = "versionId="


def parse_copy_source(ctx: Ctx) -> tuple[str, bytes, str | None]:
    """Source bucket, key and version id (S3's form; None: the current version)."""
    raw = ctx.headers["x-amz-copy-source"]
    path, sep, query = raw.partition("?")
    version_id = None
    if sep:
        if not query.startswith(COPY_SOURCE_VERSION) or "&" in query:
            raise S3Error("InvalidArgument", "Copy Source can only name a version: ?versionId=ID")
        version_id = check_version_id(unquote(query[len(COPY_SOURCE_VERSION) :]))
    try:
        path = unquote_to_bytes(path).decode().lstrip("/")
    except UnicodeDecodeError:
        raise S3Error(
            "InvalidArgument", "Invalid copy source encoding", extra={"ArgumentName": "x-amz-copy-source"}
        ) from None
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
    return bucket, key.encode(), version_id


async def copy_source_object(ctx: Ctx, bucket: str, key: bytes, version_id: str | None) -> Object:
    resource = f"/{bucket}/{key.decode()}"
    if version_id is None:
        src = await ctx.ns.find_object(bucket, key)
        if src is None:
            raise S3Error("NoSuchKey", resource=resource, extra={"Key": key.decode()})
        return src
    v = ctx.store.find_version(bucket, key, version_id)
    if v is None:
        raise S3Error("NoSuchVersion", resource=resource, extra={"Key": key.decode(), "VersionId": version_id})
    if v.marker:
        raise S3Error(
            "InvalidRequest",
            "The source of a copy request may not specifically refer to a delete marker by version id.",
        )
    return v.obj


async def copy_object(ctx: Ctx) -> Response:
    dest = ctx.need_bucket()
    assert ctx.bucket is not None
    h = ctx.headers
    src_bucket, src_key, src_version = parse_copy_source(ctx)
    ctx.need_bucket(src_bucket)
    spec = sse.write_spec(h, sse.bucket_default(ctx, ctx.bucket))
    src_presented = sse.customer_key(h, sse.COPY_SOURCE_CUSTOMER)
    reencrypt = sse.SSE in h or sse.presents_customer_key(h)  # a copy onto itself may change only the encryption
    dst_key, dst_env = sse.seal(ctx, spec) if spec else (None, None)
    lock_meta = lock_meta_from_headers(ctx)
    directive = h.get("x-amz-metadata-directive", "COPY").upper()
    tag_directive = h.get("x-amz-tagging-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE") or tag_directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata or tagging directive")
    for _attempt in range(COPY_ATTEMPTS):
        src = await copy_source_object(ctx, src_bucket, src_key, src_version)
        check_read_conditions(src, h, prefix="x-amz-copy-source-if-")
        src_env = sse.envelope_of(src.meta)
        src_data_key = sse.open_key(ctx, src_env, src, src_presented)
        meta = metadata_from_headers(h) if directive == "REPLACE" else locks.without_lock(src.meta)
        meta.update(lock_meta)
        if directive == "COPY" and "x-amz-storage-class" in h:
            meta.update(
                {k: v for k, v in metadata_from_headers({"x-amz-storage-class": h["x-amz-storage-class"]}).items()}
            )
        acls.apply_to_object(ctx, meta)
        tags = tags_from_header(h.get("x-amz-tagging")) if tag_directive == "REPLACE" else src.tags
        same = src_bucket == ctx.bucket and src_key == ctx.key_bytes and src_version is None
        if same and not src.is_remote and not reencrypt:
            meta = sse.with_envelope(meta, src_env)
            sse_headers = sse.response_headers(src_env, src_presented)
            if directive != "REPLACE" and "x-amz-storage-class" not in h and tag_directive != "REPLACE":
                raise S3Error(
                    "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
                )
            if dest.config.get(VERSIONING) is None:  # in a versioned bucket the copy is a new version
                obj = await ctx.store.replace_meta(ctx.bucket, src_key, src.etag, meta, tags)
                break
        # a copy of a multipart source is one piece: its ETag becomes the MD5 of the bytes (so does an encrypted one's)
        md5 = hashlib.md5() if src.parts or src.is_remote or src_data_key or dst_key else None
        with ctx.store.writer(src.size, [md5] if md5 else [], data_key=dst_key) as w:
            try:
                await encrypted.read_into(ctx.ns, src, src_data_key, 0, src.size - 1, w)
            except (FileNotFoundError, ObjectChanged):
                w.discard()
                continue  # the source was replaced while we opened it
            checksum = src.checksum if src.checksum and not src.parts else None
            etag = sse.etag(spec.kind if spec else None, dst_key, md5.hexdigest() if md5 else src.etag)
            draft = Draft(ctx.bucket, ctx.key_bytes, etag, sse.with_envelope(meta, dst_env), checksum, tags)
            obj = await w.commit_object(draft, write_conditions(h))
        sse_headers = sse.response_headers(dst_env, spec.customer if spec else None, write=True)
        break
    else:
        raise S3Error("InternalError", "the source changed too often while being copied")
    nodes: list[xml.Node] = [("LastModified", xml.iso8601(obj.mtime)), ("ETag", f'"{obj.etag}"')]
    if obj.checksum:
        nodes.append((f"Checksum{obj.checksum['algorithm']}", obj.checksum["value"]))
    headers = version_header(ctx, obj, dest) + sse_headers
    if src_version is not None:
        headers.append(("x-amz-copy-source-version-id", src_version))
    return xml_response(xml.document("CopyObjectResult", nodes), headers=headers)


HANDLERS = {
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
    "CopyObject": copy_object,
}
