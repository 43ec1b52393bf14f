"""Multipart upload operations."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from s3d.access.principals import ANONYMOUS_ID
from s3d.crypto.envelope import Envelope
from s3d.s3 import checksums, encrypted, integers, surface, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import acls, sse
from s3d.s3.handlers.common import (
    abort_headers,
    check_read_conditions,
    empty,
    lock_meta_from_headers,
    metadata_from_headers,
    parse_http_date,
    part_number,
    read_document,
    tags_from_header,
    url_encode,
    version_header,
    xml_response,
)
from s3d.s3.handlers.objects import (
    COPY_ATTEMPTS,
    DEFAULT_CHECKSUM,
    copy_source_object,
    parse_copy_source,
    write_conditions,
)
from s3d.s3.multipart_rules import CompletedPart, assemble, multipart_etag, object_checksum
from s3d.s3.payload import Payload
from s3d.server.http import Response
from s3d.store.errors import NoSuchUpload, ObjectChanged
from s3d.store.lifecycle import LIFECYCLE
from s3d.store.multipart import MAX_PARTS, Multipart
from s3d.store.objects import Object
from s3d.store.uploads import Upload

MAX_COMPLETE_BODY = 4 * 1024 * 1024
OBJECT_CHECKSUM_PREFIX = "x-amz-checksum-"
IF_MATCH_INITIATED_TIME = "x-amz-if-match-initiated-time"
MP_OBJECT_SIZE = "x-amz-mp-object-size"
MAX_PART_SIZE = 5 * 1024**3
PAGE = 1000  # ListParts and ListMultipartUploads answer at most this many, whatever is asked


def _mp(ctx: Ctx) -> Multipart:
    return Multipart(ctx.store)


def _upload(ctx: Ctx) -> Upload:
    ctx.need_bucket()
    assert ctx.bucket is not None
    return _mp(ctx).get_upload(ctx.query["uploadId"], ctx.bucket, ctx.key_bytes)


def _part_number(ctx: Ctx) -> int:
    return part_number(ctx.query.get("partNumber", ""))


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
    b = ctx.need_bucket()
    assert ctx.bucket is not None
    h = ctx.headers
    meta: dict[str, Any] = {**metadata_from_headers(h), **lock_meta_from_headers(ctx)}
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
    spec = sse.write_spec(h, sse.bucket_default(ctx, ctx.bucket))
    _, env = sse.seal(ctx, spec) if spec else (None, None)
    meta = sse.with_envelope(meta, env)
    upload_id = await _mp(ctx).create(ctx.bucket, ctx.key_bytes, meta, ctx.user.name if ctx.user else ANONYMOUS_ID)
    headers = sse.response_headers(env, spec.customer if spec else None, write=True)
    if algo:
        headers += [("x-amz-checksum-algorithm", algo), ("x-amz-checksum-type", meta["checksum_type"])]
    if LIFECYCLE in b.config:
        upload = _mp(ctx).get_upload(upload_id, ctx.bucket, ctx.key_bytes)
        headers += abort_headers(ctx, b.config, upload.key, upload.initiated)
    body = xml.document(
        "InitiateMultipartUploadResult", [("Bucket", ctx.bucket), ("Key", ctx.key), ("UploadId", upload_id)]
    )
    return xml_response(body, headers=headers)


async def upload_part(ctx: Ctx) -> Response:
    number = _part_number(ctx)
    upload = _upload(ctx)
    algo = upload.meta.get("checksum_algorithm")
    payload = Payload(ctx.headers, ctx.auth, ctx.req.body, checksum_algorithm=algo or DEFAULT_CHECKSUM)
    sent = next(
        (a for a, name in checksums.HEADER.items() if name in ctx.headers or name in payload.trailer_names), None
    )
    if algo and sent != algo:
        raise S3Error(
            "InvalidRequest",
            f"Checksum Type mismatch occurred, expected checksum Type: {algo.lower()}, actual checksum Type: {(sent or 'null').lower()}",
        )
    if payload.expected_size is not None and payload.expected_size > MAX_PART_SIZE:
        raise S3Error("EntityTooLarge")
    env, presented, data_key = _upload_key(ctx, upload)
    with ctx.store.part_writer(data_key=data_key) as w:
        async for chunk in payload.chunks():
            w.write(chunk)
        payload.finish()
        cv = payload.checksum_value
        checksum = {"algorithm": cv[0], "value": cv[1]} if cv else None
        etag = sse.etag(env.kind if env else None, data_key, payload.etag)
        await w.commit_part(upload.upload_id, number, etag, checksum)
    requested = bool(algo) or any(k.startswith("x-amz-checksum-") for k in ctx.headers) or bool(payload.trailer_names)
    return empty(
        200,
        [
            ("ETag", f'"{etag}"'),
            *(_checksum_headers(checksum) if requested else []),
            *sse.response_headers(env, presented),
        ],
    )


def _upload_key(ctx: Ctx, upload: Upload) -> tuple[Envelope | None, sse.CustomerKey | None, bytes | None]:
    """The upload's envelope, the SSE-C key the request presents, and the data key parts are encrypted with."""
    sse.refuse_write_headers(ctx.headers)
    env = sse.envelope_of(upload.meta)
    presented = sse.customer_key(ctx.headers)
    return env, presented, sse.open_key(ctx, env, None, presented)


def _copy_range(ctx: Ctx, src: Object) -> tuple[int, int]:
    raw = ctx.headers.get("x-amz-copy-source-range")
    if raw is None:
        return 0, src.size - 1
    unit, _, spec = raw.partition("=")
    first, _, last = spec.partition("-")
    start, end = integers.parse(first, 0, integers.LONG_MAX), integers.parse(last, 0, integers.LONG_MAX)
    if unit != "bytes" or start is None or end is None or end < start:
        raise S3Error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        )
    if end >= src.size:
        raise S3Error("InvalidRange", f"The requested range is not satisfiable: object size is {src.size}")
    return start, end


async def upload_part_copy(ctx: Ctx) -> Response:
    number = _part_number(ctx)
    upload = _upload(ctx)
    src_bucket, src_key, src_version = parse_copy_source(ctx)
    ctx.need_bucket(src_bucket)
    env, presented, data_key = _upload_key(ctx, upload)
    src_presented = sse.customer_key(ctx.headers, sse.COPY_SOURCE_CUSTOMER)
    algo = upload.meta.get("checksum_algorithm") or DEFAULT_CHECKSUM
    for _ in range(COPY_ATTEMPTS):
        src = await copy_source_object(ctx, src_bucket, src_key, src_version)
        check_read_conditions(src, ctx.headers, prefix="x-amz-copy-source-if-")
        start, end = _copy_range(ctx, src) if src.size else (0, -1)
        if end - start + 1 > MAX_PART_SIZE:
            raise S3Error(
                "InvalidRequest",
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120",
            )
        src_data_key = sse.open_key(ctx, sse.envelope_of(src.meta), src, src_presented)
        md5 = hashlib.md5()
        ck = checksums.new(algo)
        with ctx.store.part_writer([md5, ck], data_key=data_key) as w:
            try:
                await encrypted.read_into(ctx.ns, src, src_data_key, start, end, w)
            except (FileNotFoundError, ObjectChanged):
                w.discard()
                continue  # the source was replaced while we opened it
            checksum = {"algorithm": algo, "value": checksums.b64(ck.digest())}
            etag = sse.etag(env.kind if env else None, data_key, md5.hexdigest())
            part = await w.commit_part(upload.upload_id, number, etag, checksum)
        break
    else:
        raise S3Error("InternalError", "the source changed too often while being copied")
    nodes: list[xml.Node] = [("ETag", f'"{part.etag}"'), ("LastModified", xml.iso8601(part.mtime))]
    if upload.meta.get("checksum_algorithm"):
        nodes.append((f"Checksum{algo}", checksum["value"]))
    headers = sse.response_headers(env, presented)
    if src_version is not None:
        headers.append(("x-amz-copy-source-version-id", src_version))
    return xml_response(xml.document("CopyPartResult", nodes), headers=headers)


COMPLETED_PART = xml.Shape(
    {
        "PartNumber": xml.TEXT,
        "ETag": xml.TEXT,
        **{f"Checksum{a}": xml.TEXT for a in checksums.ALGORITHMS},
        **{
            f"Checksum{a.upper()}": xml.Shape(unsupported=f"s3d does not support the {a} checksum algorithm.")
            for a in surface.UNSUPPORTED_CHECKSUMS
        },
    },
    repeated=True,
)
COMPLETE_MULTIPART_UPLOAD = xml.Shape({"Part": COMPLETED_PART})


def _parse_complete(body: bytes) -> list[CompletedPart]:
    root = xml.parse(body)
    xml.conform(root, "CompleteMultipartUpload", COMPLETE_MULTIPART_UPLOAD)
    out = []
    for p in root.findall("Part"):
        n, etag = integers.parse(xml.text(p, "PartNumber")), xml.text(p, "ETag")
        if n is None or etag is None:
            raise S3Error("MalformedXML")
        sums = {a: v for a in checksums.ALGORITHMS if (v := xml.text(p, f"Checksum{a}")) is not None}
        out.append(CompletedPart(n, etag, sums))
    return out


def _object_checksum_value(algorithm: str, value: str) -> bool:
    """Whether a Complete's x-amz-checksum-* is base64 of one digest (a COMPOSITE one with or without -N)."""
    digest, dash, count = value.rpartition("-")
    if not dash:
        digest = value
    elif not (count.isascii() and count.isdigit()):
        return False
    return checksums.digest_of(algorithm, digest) is not None


def _object_expectations(h: dict[str, str]) -> Callable[[int, dict[str, str] | None], None]:
    """What the x-amz-checksum-*, x-amz-checksum-type and x-amz-mp-object-size headers of a Complete say
    about the assembled object (not about the request body): checked before it commits."""
    given = [(a, h[name]) for a, name in checksums.HEADER.items() if name in h]
    for algo, value in given:
        if not _object_checksum_value(algo, value):
            raise S3Error("InvalidRequest", f"Value for {checksums.HEADER[algo]} header is invalid.")
    ctype = h.get("x-amz-checksum-type", "").upper() or None
    raw_size = h.get(MP_OBJECT_SIZE)
    size = None
    if raw_size is not None:
        message = f"{MP_OBJECT_SIZE} must be a non-negative integer"
        size = integers.argument(MP_OBJECT_SIZE, raw_size, 0, integers.LONG_MAX, message)

    def verify(object_size: int, have: dict[str, str] | None) -> None:
        if size is not None and size != object_size:
            raise S3Error(
                "InvalidRequest",
                f"The provided x-amz-mp-object-size ({size}) does not match the object's size ({object_size}).",
            )
        if ctype is not None and (have is None or have.get("type") != ctype):
            raise S3Error("BadDigest", f"The upload's checksum type is not {ctype}.")
        for algo, value in given:
            if have is None or have["algorithm"] != algo:
                raise S3Error("BadDigest", f"The object has no {algo} checksum.")
            # a COMPOSITE checksum may be given with or without its -N part count
            if value not in (have["value"], have["value"].rpartition("-")[0]):
                raise S3Error("BadDigest", f"The {algo} checksum of the assembled object does not match.")

    return verify


async def complete_multipart_upload(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    verify = _object_expectations(ctx.headers)
    # those headers describe the assembled object; the XML body is checked only against Content-MD5
    body_headers = {k: v for k, v in ctx.headers.items() if not k.startswith(OBJECT_CHECKSUM_PREFIX)}
    listed = _parse_complete(await read_document(ctx, MAX_COMPLETE_BODY, body_headers))
    mp = _mp(ctx)
    try:
        upload = mp.get_upload(ctx.query["uploadId"], ctx.bucket, ctx.key_bytes)
    except NoSuchUpload:
        done = mp.completed(ctx.query["uploadId"], ctx.bucket, ctx.key_bytes, [(c.number, c.etag) for c in listed])
        if done is None:
            raise
        return _complete_result(ctx, done)  # completed before with these parts: the same answer
    stored = {p.number: p for p in mp.list_parts(upload.upload_id)}
    parts = assemble(upload, stored, listed)
    etag, checksum = multipart_etag(parts), object_checksum(upload, parts)
    verify(sum(p.size for p in parts), checksum)
    cond = write_conditions(ctx.headers)
    if cond is not None:
        await ctx.ns.find_object(ctx.bucket, ctx.key_bytes)  # a key only on the remote counts (gateway mode)
    obj = await mp.complete(upload, parts, etag, checksum, cond)
    return _complete_result(ctx, obj)


def _complete_result(ctx: Ctx, obj: Object) -> Response:
    nodes: list[xml.Node] = [
        ("Location", f"/{ctx.bucket}/{ctx.key}"),
        ("Bucket", ctx.bucket),
        ("Key", ctx.key),
        ("ETag", f'"{obj.etag}"'),
    ]
    if obj.checksum:
        nodes.append((f"Checksum{obj.checksum['algorithm']}", obj.checksum["value"]))
        nodes.append(("ChecksumType", obj.checksum["type"]))
    headers = sse.response_headers(sse.envelope_of(obj.meta), sse.customer_key(ctx.headers)) + version_header(ctx, obj)
    return xml_response(xml.document("CompleteMultipartUploadResult", nodes), headers=headers)


async def abort_multipart_upload(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    raw = ctx.headers.get(IF_MATCH_INITIATED_TIME)
    if raw is not None:
        when = parse_http_date(raw)
        if when is None:
            raise S3Error("InvalidArgument", f"{IF_MATCH_INITIATED_TIME} is not a valid HTTP date")
        try:
            upload = _upload(ctx)
        except NoSuchUpload:
            return empty(204)  # as AWS documents: no such upload is a success with this header
        if int(upload.initiated) != int(when):
            raise S3Error("PreconditionFailed", extra={"Condition": IF_MATCH_INITIATED_TIME})
    await _mp(ctx).abort(ctx.query["uploadId"], ctx.bucket, ctx.key_bytes)
    return empty(204)


async def list_parts(ctx: Ctx) -> Response:
    upload = _upload(ctx)
    marker = integers.count("part-number-marker", ctx.query.get("part-number-marker"), 0, MAX_PARTS)
    max_parts = integers.count("max-parts", ctx.query.get("max-parts"), PAGE, PAGE)
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
    headers = abort_headers(ctx, ctx.need_bucket().config, upload.key, upload.initiated)
    return xml_response(xml.document("ListPartsResult", nodes), headers=headers)


async def list_multipart_uploads(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    q = ctx.query
    enc = q.get("encoding-type") == "url"
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, id_marker = q.get("key-marker", ""), q.get("upload-id-marker", "")
    max_uploads = integers.count("max-uploads", q.get("max-uploads"), PAGE, PAGE)
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
