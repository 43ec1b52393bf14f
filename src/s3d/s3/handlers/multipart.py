"""Multipart upload operations."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from typing import Any

from s3d.access.principals import ANONYMOUS_ID
from s3d.s3 import checksums, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import acls
from s3d.s3.handlers.common import (
    check_read_conditions,
    empty,
    metadata_from_headers,
    read_document,
    tags_from_header,
    url_encode,
    xml_response,
)
from s3d.s3.handlers.objects import DEFAULT_CHECKSUM, fetch_remote, parse_copy_source, stream_to_blob, write_conditions
from s3d.s3.payload import Payload
from s3d.server.http import Response
from s3d.store.multipart import MAX_PARTS, CompletedPart, Multipart, StoredPart, Upload
from s3d.store.store import Object, ObjectChanged, Store

MAX_COMPLETE_BODY = 4 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024**3
READ_CHUNK = 1 << 20


def _mp(ctx: Ctx) -> Multipart:
    return Multipart(ctx.store)


def _upload(ctx: Ctx) -> Upload:
    ctx.need_bucket()
    assert ctx.bucket is not None
    return _mp(ctx).get_upload(ctx.query["uploadId"], ctx.bucket, ctx.key_bytes)


def _part_number(ctx: Ctx) -> int:
    raw = ctx.query.get("partNumber", "")
    try:
        n = int(raw)
    except ValueError:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive") from None
    if not 1 <= n <= MAX_PARTS:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
    return n


def _checksum_headers(checksum: dict[str, str] | None, with_type: bool = False) -> list[tuple[str, str]]:
    if not checksum:
        return []
    out = [(checksums.HEADER[checksum["algorithm"]], checksum["value"])]
    if with_type:
        out.append(("x-amz-checksum-type", checksum.get("type", "FULL_OBJECT")))
    return out


def _owner(ctx: Ctx) -> list[xml.Node]:
    name = ctx.user.name if ctx.user else ANONYMOUS_ID
    return [("ID", name), ("DisplayName", name)]


async def create_multipart_upload(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    h = ctx.headers
    meta: dict[str, Any] = dict(metadata_from_headers(h))
    acls.apply_to_object(ctx, meta)
    tags = tags_from_header(h.get("x-amz-tagging"))
    if tags:
        meta["tags"] = tags
    algo = h.get("x-amz-checksum-algorithm", "").upper() or None
    ctype = h.get("x-amz-checksum-type", "").upper() or None
    if algo is not None and algo not in checksums.ALGORITHMS:
        raise S3Error("InvalidRequest", f"Checksum algorithm {algo!r} is not supported")
    if ctype is not None:
        if ctype not in ("COMPOSITE", "FULL_OBJECT") or algo is None:
            raise S3Error("InvalidRequest", "The x-amz-checksum-type header requires x-amz-checksum-algorithm")
        if ctype == "FULL_OBJECT" and algo in ("SHA1", "SHA256"):
            raise S3Error(
                "InvalidRequest",
                f"The FULL_OBJECT checksum type cannot be used with the {algo.lower()} checksum algorithm.",
            )
        if ctype == "COMPOSITE" and algo in checksums.FULL_OBJECT_ONLY:
            raise S3Error(
                "InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."
            )
    if algo:
        meta["checksum_algorithm"] = algo
        meta["checksum_type"] = ctype or ("FULL_OBJECT" if algo in checksums.FULL_OBJECT_ONLY else "COMPOSITE")
    upload_id = await _mp(ctx).create(ctx.bucket, ctx.key_bytes, meta, ctx.user.name if ctx.user else ANONYMOUS_ID)
    headers = []
    if algo:
        headers = [("x-amz-checksum-algorithm", algo), ("x-amz-checksum-type", meta["checksum_type"])]
    body = xml.document(
        "InitiateMultipartUploadResult", [("Bucket", ctx.bucket), ("Key", ctx.key), ("UploadId", upload_id)]
    )
    return xml_response(body, headers=headers)


async def upload_part(ctx: Ctx) -> Response:
    number = _part_number(ctx)
    upload = _upload(ctx)
    algo = upload.meta.get("checksum_algorithm")
    payload = Payload(ctx.headers, ctx.auth, ctx.req.body, checksum_algorithm=algo or DEFAULT_CHECKSUM)
    if algo and payload.checksum_algorithm != algo:
        raise S3Error(
            "InvalidRequest",
            f"Checksum Type mismatch occurred, expected checksum Type: {algo.lower()}, actual checksum Type: {(payload.checksum_algorithm or 'none').lower()}",
        )
    if payload.expected_size is not None and payload.expected_size > MAX_PART_SIZE:
        raise S3Error("EntityTooLarge")
    blob = await stream_to_blob(ctx.store, payload)
    cv = payload.checksum_value
    checksum = {"algorithm": cv[0], "value": cv[1]} if cv else None
    await _mp(ctx).put_part(
        upload.upload_id, StoredPart(number, payload.size, payload.etag, time.time(), blob, checksum)
    )
    requested = bool(algo) or any(k.startswith("x-amz-checksum-") for k in ctx.headers) or bool(payload.trailer_names)
    return empty(200, [("ETag", f'"{payload.etag}"'), *(_checksum_headers(checksum) if requested else [])])


def _copy_range(ctx: Ctx, src: Object) -> tuple[int, int]:
    raw = ctx.headers.get("x-amz-copy-source-range")
    if raw is None:
        return 0, src.size - 1
    unit, _, spec = raw.partition("=")
    first, _, last = spec.partition("-")
    try:
        start, end = int(first), int(last)
    except ValueError:
        raise S3Error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        ) from None
    if unit != "bytes" or start < 0 or end < start:
        raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last")
    if end >= src.size:
        raise S3Error("InvalidRange", f"The requested range is not satisfiable: object size is {src.size}")
    return start, end


def _read_range(store: Store, src: Object, start: int, end: int) -> list[tuple[int | bytes, int, int]]:
    """(fd or bytes, offset, length) pieces covering [start, end] of src; fds are open."""
    if src.data is not None:
        return [(src.data, start, end - start + 1)]
    spans = [(src.blob, src.size)] if src.blob else [(p.blob, p.size) for p in src.parts or []]
    pieces: list[tuple[int | bytes, int, int]] = []
    offset = 0
    try:
        for blob, size in spans:
            lo, hi = max(start, offset), min(end, offset + size - 1)
            if lo <= hi and blob is not None:
                pieces.append((store.blobs.open_read(blob), lo - offset, hi - lo + 1))
            offset += size
    except FileNotFoundError:
        for fd, _, _ in pieces:
            if isinstance(fd, int):
                os.close(fd)
        raise
    return pieces


async def upload_part_copy(ctx: Ctx) -> Response:
    number = _part_number(ctx)
    upload = _upload(ctx)
    src_bucket, src_key = parse_copy_source(ctx)
    ctx.need_bucket(src_bucket)
    temp_blob: str | None = None
    for _ in range(5):
        src = await ctx.store.find_object(src_bucket, src_key)
        if src is None:
            raise S3Error("NoSuchKey", extra={"Key": src_key.decode()})
        check_read_conditions(src, ctx.headers, prefix="x-amz-copy-source-if-")
        start, end = _copy_range(ctx, src) if src.size else (0, -1)
        if end - start + 1 > MAX_PART_SIZE:
            raise S3Error(
                "InvalidRequest",
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120",
            )
        try:
            if src.is_remote:
                # bring the range here first; the local copy below then reads it like any blob
                _, fetched, _ = await fetch_remote(ctx.store, src, start, end)
                src = Object(
                    src.bucket, src.key, end - start + 1, "", 0.0, 0, {}, blob=fetched, data=None if fetched else b""
                )
                start, end = 0, src.size - 1
                temp_blob = fetched
            pieces = _read_range(ctx.store, src, start, end)
        except (FileNotFoundError, ObjectChanged):
            continue
        break
    else:
        raise S3Error("InternalError", "the source changed too often while being copied")
    writer = ctx.store.new_blob()
    md5 = hashlib.md5()
    algo = upload.meta.get("checksum_algorithm") or DEFAULT_CHECKSUM
    ck = checksums.new(algo)

    def copy() -> None:
        for src_piece, off, length in pieces:
            done = 0
            while done < length:
                n = min(READ_CHUNK, length - done)
                chunk = (
                    src_piece[off + done : off + done + n]
                    if isinstance(src_piece, bytes)
                    else os.pread(src_piece, n, off + done)
                )
                if not chunk:
                    raise OSError("source blob is shorter than its metadata says")
                md5.update(chunk)
                ck.update(chunk)
                writer.write(chunk)
                done += len(chunk)

    try:
        await asyncio.get_running_loop().run_in_executor(None, copy)
        blob = await writer.commit()
    except BaseException:
        writer.discard()
        raise
    finally:
        for fd, _, _ in pieces:
            if isinstance(fd, int):
                os.close(fd)
        if temp_blob:
            ctx.store.blobs.remove([temp_blob])
    mtime = time.time()
    checksum = {"algorithm": algo, "value": checksums.b64(ck.digest())}
    await _mp(ctx).put_part(upload.upload_id, StoredPart(number, writer.size, md5.hexdigest(), mtime, blob, checksum))
    nodes: list[xml.Node] = [("ETag", f'"{md5.hexdigest()}"'), ("LastModified", xml.iso8601(mtime))]
    if upload.meta.get("checksum_algorithm"):
        nodes.append((f"Checksum{algo}", checksum["value"]))
    return xml_response(xml.document("CopyPartResult", nodes))


def _parse_complete(body: bytes) -> list[CompletedPart]:
    root = xml.parse(body)
    if root.tag != "CompleteMultipartUpload":
        raise S3Error("MalformedXML")
    out = []
    for p in root.findall("Part"):
        num, etag = xml.text(p, "PartNumber"), xml.text(p, "ETag")
        if num is None or etag is None:
            raise S3Error("MalformedXML")
        try:
            n = int(num)
        except ValueError:
            raise S3Error("MalformedXML") from None
        sums = {a: v for a in checksums.ALGORITHMS if (v := xml.text(p, f"Checksum{a}")) is not None}
        out.append(CompletedPart(n, etag, sums))
    return out


async def complete_multipart_upload(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    listed = _parse_complete(await read_document(ctx, MAX_COMPLETE_BODY))
    obj = await _mp(ctx).complete(
        ctx.query["uploadId"], ctx.bucket, ctx.key_bytes, listed, write_conditions(ctx.headers)
    )
    nodes: list[xml.Node] = [
        ("Location", f"/{ctx.bucket}/{ctx.key}"),
        ("Bucket", ctx.bucket),
        ("Key", ctx.key),
        ("ETag", f'"{obj.etag}"'),
    ]
    if obj.checksum:
        nodes.append((f"Checksum{obj.checksum['algorithm']}", obj.checksum["value"]))
        nodes.append(("ChecksumType", obj.checksum["type"]))
    return xml_response(xml.document("CompleteMultipartUploadResult", nodes))


async def abort_multipart_upload(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    await _mp(ctx).abort(ctx.query["uploadId"], ctx.bucket, ctx.key_bytes)
    return empty(204)


def _int_param(ctx: Ctx, name: str, default: int, cap: int) -> int:
    raw = ctx.query.get(name)
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer range") from None
    if n < 0:
        raise S3Error("InvalidArgument", f"Argument {name} must be an integer between 0 and 2147483647")
    return min(n, cap)


async def list_parts(ctx: Ctx) -> Response:
    upload = _upload(ctx)
    marker = _int_param(ctx, "part-number-marker", 0, MAX_PARTS)
    max_parts = _int_param(ctx, "max-parts", 1000, 1000)
    parts = _mp(ctx).list_parts(upload.upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    algo = upload.meta.get("checksum_algorithm")
    nodes: list[xml.Node] = [
        ("Bucket", upload.bucket),
        ("Key", ctx.key),
        ("UploadId", upload.upload_id),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", parts[-1].number if parts else 0),
        ("MaxParts", max_parts),
        ("IsTruncated", truncated),
    ]
    for p in parts:
        item: list[xml.Node] = [
            ("PartNumber", p.number),
            ("LastModified", xml.iso8601(p.mtime)),
            ("ETag", f'"{p.etag}"'),
            ("Size", p.size),
        ]
        if algo and p.checksum:
            item.append((f"Checksum{p.checksum['algorithm']}", p.checksum["value"]))
        nodes.append(("Part", item))
    nodes += [("Initiator", _owner(ctx)), ("Owner", _owner(ctx)), ("StorageClass", "STANDARD")]
    if algo:
        nodes += [("ChecksumAlgorithm", algo), ("ChecksumType", upload.meta.get("checksum_type"))]
    return xml_response(xml.document("ListPartsResult", nodes))


async def list_multipart_uploads(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    q = ctx.query
    enc = q.get("encoding-type") == "url"
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, id_marker = q.get("key-marker", ""), q.get("upload-id-marker", "")
    max_uploads = _int_param(ctx, "max-uploads", 1000, 1000)
    uploads = _mp(ctx).list_uploads(ctx.bucket, prefix.encode(), key_marker.encode(), id_marker)
    items: list[xml.Node] = []
    prefixes: list[xml.Node] = []
    seen_prefixes: set[bytes] = set()
    truncated = False
    next_key, next_id = "", ""
    count = 0
    for u in uploads:
        if delimiter:
            i = u.key.find(delimiter.encode(), len(prefix.encode()))
            if i >= 0:
                cp = u.key[: i + len(delimiter)]
                if cp in seen_prefixes or cp.decode() <= key_marker:
                    continue
                if count == max_uploads:
                    truncated = True
                    break
                seen_prefixes.add(cp)
                prefixes.append(("CommonPrefixes", [("Prefix", url_encode(cp.decode(), enc))]))
                next_key, next_id = cp.decode(), ""
                count += 1
                continue
        if count == max_uploads:
            truncated = True
            break
        key = u.key.decode()
        items.append(
            ("Upload", [
                ("Key", url_encode(key, enc)),
                ("UploadId", u.upload_id),
                ("Initiator", _owner(ctx)),
                ("Owner", _owner(ctx)),
                ("StorageClass", "STANDARD"),
                ("Initiated", xml.iso8601(u.initiated)),
                *([("ChecksumAlgorithm", u.meta["checksum_algorithm"])] if u.meta.get("checksum_algorithm") else []),
            ])
        )  # fmt: skip
        next_key, next_id = key, u.upload_id
        count += 1
    nodes: list[xml.Node] = [
        ("Bucket", ctx.bucket),
        ("KeyMarker", url_encode(key_marker, enc)),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", url_encode(next_key, enc) if truncated else None),
        ("NextUploadIdMarker", next_id if truncated else None),
        ("Prefix", url_encode(prefix, enc)),
        ("Delimiter", url_encode(delimiter, enc) if delimiter else None),
        ("MaxUploads", max_uploads),
        ("IsTruncated", truncated),
        ("EncodingType", "url" if enc else None),
    ]
    return xml_response(xml.document("ListMultipartUploadsResult", nodes + items + prefixes))


HANDLERS = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
}
