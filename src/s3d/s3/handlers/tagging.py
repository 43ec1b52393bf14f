"""Object and bucket tagging, and GetObjectAttributes."""

from __future__ import annotations

from s3d.crypto.envelope import SSE_C
from s3d.filters import gateway as filters
from s3d.s3 import xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import sse
from s3d.s3.handlers.common import RESERVED_TAG_PREFIX, empty, http_date, read_document, validate_tags, xml_response
from s3d.server.http import Response
from s3d.store.objects import Object

MAX_BODY = 64 * 1024
MAX_BUCKET_TAGS = 50


def parse_tagging(body: bytes) -> list[tuple[str, str]]:
    root = xml.parse(body)
    if root.tag != "Tagging" or root.find("TagSet") is None:
        raise S3Error("MalformedXML")
    tags = []
    for t in root.iter("Tag"):
        k, v = xml.text(t, "Key"), xml.text(t, "Value")
        if k is None or v is None:
            raise S3Error("MalformedXML")
        tags.append((k, v))
    return tags


def render_tagging(tags: list[tuple[str, str]]) -> bytes:
    return xml.document("Tagging", [("TagSet", [("Tag", [("Key", k), ("Value", v)]) for k, v in tags])])


async def _object(ctx: Ctx) -> Object:
    ctx.need_bucket()
    obj = await ctx.ns.find_object(ctx.bucket or "", ctx.key_bytes)
    if obj is None:
        raise S3Error("NoSuchKey", extra={"Key": ctx.key or ""})
    return obj


async def get_object_tagging(ctx: Ctx) -> Response:
    return xml_response(render_tagging((await _object(ctx)).tags or []))


async def put_object_tagging(ctx: Ctx) -> Response:
    await _object(ctx)  # in gateway mode, a remote-only object gets its row here
    tags = validate_tags(parse_tagging(await read_document(ctx, MAX_BODY)))
    await ctx.store.set_tags(ctx.bucket or "", ctx.key_bytes, tags or None)
    await ctx.ns.tags_changed(ctx.bucket or "", ctx.key_bytes, tags or None)
    return empty(200)


async def delete_object_tagging(ctx: Ctx) -> Response:
    await _object(ctx)
    await ctx.store.set_tags(ctx.bucket or "", ctx.key_bytes, None)
    return empty(204)


async def get_bucket_tagging(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    tags = b.config.get("tags")
    if not tags:
        raise S3Error("NoSuchTagSet", extra={"BucketName": b.name})
    return xml_response(render_tagging([(k, v) for k, v in tags]))


async def put_bucket_tagging(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    tags = parse_tagging(await read_document(ctx, MAX_BODY))
    if len(tags) > MAX_BUCKET_TAGS:
        raise S3Error("InvalidTag", "Bucket tag count cannot be greater than 50")
    if len({k for k, _ in tags}) != len(tags):
        raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
    for k, v in tags:
        if not k or len(k) > 128 or len(v) > 256:
            raise S3Error("InvalidTag", "The TagKey or TagValue you have provided is invalid")
        if k.lower().startswith(RESERVED_TAG_PREFIX):
            raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:")
    await ctx.store.set_bucket_config(b.name, "tags", tags or None)
    if ctx.settings.gateway is not None:
        await filters.bucket_retagged(ctx.store, ctx.settings.upload_filter, b.name)
    return empty(204)


async def delete_bucket_tagging(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, "tags", None)
    if ctx.settings.gateway is not None:
        await filters.bucket_retagged(ctx.store, ctx.settings.upload_filter, b.name)
    return empty(204)


ATTRIBUTES = {"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"}


async def get_object_attributes(ctx: Ctx) -> Response:
    obj = await _object(ctx)
    env = sse.envelope_of(obj.meta)
    if (env is not None and env.kind == SSE_C) or sse.presents_customer_key(ctx.headers):
        sse.open_key(ctx, env, obj, sse.customer_key(ctx.headers))  # an SSE-C object's attributes need its key
    raw = ctx.headers.get("x-amz-object-attributes", "")
    wanted = {a.strip() for a in raw.split(",") if a.strip()}
    if not wanted:
        raise S3Error("InvalidArgument", "Minimum of one object attribute must be specified")
    unknown = wanted - ATTRIBUTES
    if unknown:
        raise S3Error("InvalidArgument", f"Invalid attribute name specified: {sorted(unknown)[0]}")
    nodes: list[xml.Node] = []
    if "ETag" in wanted:
        nodes.append(("ETag", obj.etag))
    if "Checksum" in wanted and obj.checksum:
        nodes.append(
            (
                "Checksum",
                [
                    (f"Checksum{obj.checksum['algorithm']}", obj.checksum["value"]),
                    ("ChecksumType", obj.checksum.get("type", "FULL_OBJECT")),
                ],
            )
        )
    if "ObjectParts" in wanted and obj.parts:
        nodes.append(("ObjectParts", _parts(ctx, obj)))
    if "StorageClass" in wanted:
        nodes.append(("StorageClass", obj.meta.get("x-amz-storage-class", "STANDARD")))
    if "ObjectSize" in wanted:
        nodes.append(("ObjectSize", obj.size))
    return xml_response(
        xml.document("GetObjectAttributesResponse", nodes), headers=[("Last-Modified", http_date(obj.mtime))]
    )


def _parts(ctx: Ctx, obj: Object) -> list[xml.Node]:
    assert obj.parts is not None
    try:
        marker = int(ctx.headers.get("x-amz-part-number-marker", "0"))
        max_parts = min(int(ctx.headers.get("x-amz-max-parts", "1000")), 1000)
    except ValueError:
        raise S3Error("InvalidArgument", "Part number marker and max parts must be integers") from None
    after = [p for p in obj.parts if p.number > marker]
    page = after[:max_parts]
    nodes: list[xml.Node] = [
        ("PartsCount", len(obj.parts)),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", page[-1].number if page else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", len(after) > max_parts),
    ]
    for p in page:
        item: list[xml.Node] = [("PartNumber", p.number), ("Size", p.size)]
        if p.checksum and obj.checksum and obj.checksum.get("type") == "COMPOSITE":
            item.append((f"Checksum{p.checksum['algorithm']}", p.checksum["value"]))
        nodes.append(("Part", item))
    return nodes


HANDLERS = {
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
    "GetBucketTagging": get_bucket_tagging,
    "PutBucketTagging": put_bucket_tagging,
    "DeleteBucketTagging": delete_bucket_tagging,
    "GetObjectAttributes": get_object_attributes,
}
