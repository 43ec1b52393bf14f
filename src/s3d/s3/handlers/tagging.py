"""Object and bucket tagging, and GetObjectAttributes."""

from __future__ import annotations

from s3d.crypto.envelope import SSE_C
from s3d.filters import gateway as filters
from s3d.s3 import integers, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import sse
from s3d.s3.handlers.common import (
    RESERVED_TAG_PREFIX,
    TAG_SHAPE,
    empty,
    http_date,
    read_document,
    requested_version,
    validate_tags,
    xml_response,
)
from s3d.server.http import Response
from s3d.store import versions
from s3d.store.buckets import VERSIONING
from s3d.store.objects import Object

MAX_BODY = 64 * 1024
MAX_BUCKET_TAGS = 50
PART_NUMBER_MARKER = "x-amz-part-number-marker"
MAX_PARTS = "x-amz-max-parts"
PARTS_PAGE = 1000  # GetObjectAttributes lists at most this many parts, whatever is asked


TAGGING = xml.Shape({"TagSet": xml.Shape({"Tag": TAG_SHAPE.many()})})


def parse_tagging(body: bytes) -> list[tuple[str, str]]:
    root = xml.parse(body)
    xml.conform(root, "Tagging", TAGGING)
    tag_set = root.find("TagSet")
    if tag_set is None:
        raise S3Error("MalformedXML")
    tags = []
    for t in tag_set.findall("Tag"):
        k, v = xml.text(t, "Key"), xml.text(t, "Value")
        if k is None or v is None:
            raise S3Error("MalformedXML")
        tags.append((k, v))
    return tags


def render_tagging(tags: list[tuple[str, str]]) -> bytes:
    return xml.document("Tagging", [("TagSet", [("Tag", [("Key", k), ("Value", v)]) for k, v in tags])])


async def _object(ctx: Ctx) -> tuple[Object, list[tuple[str, str]]]:
    """The version a tagging request names (``versionId``, or the current one) and its version header."""
    b = ctx.need_bucket()
    version_id = requested_version(ctx)
    if version_id is not None:
        v = ctx.store.find_version(b.name, ctx.key_bytes, version_id)
        if v is None:
            raise S3Error("NoSuchVersion", extra={"Key": ctx.key or "", "VersionId": version_id})
        if v.marker:
            raise S3Error("MethodNotAllowed", extra={"Method": ctx.req.method, "ResourceType": "DeleteMarker"})
        return v.obj, [("x-amz-version-id", version_id)]
    obj = await ctx.ns.find_object(b.name, ctx.key_bytes)
    if obj is None:
        raise S3Error("NoSuchKey", extra={"Key": ctx.key or ""})
    versioned = b.config.get(VERSIONING) is not None
    return obj, [("x-amz-version-id", versions.s3_id(obj.version_id))] if versioned else []


async def get_object_tagging(ctx: Ctx) -> Response:
    obj, headers = await _object(ctx)
    return xml_response(render_tagging(obj.tags or []), headers=headers)


async def put_object_tagging(ctx: Ctx) -> Response:
    _, headers = await _object(ctx)  # in gateway mode, a remote-only object gets its row here
    tags = validate_tags(parse_tagging(await read_document(ctx, MAX_BODY)))
    await ctx.store.set_tags(ctx.bucket or "", ctx.key_bytes, tags or None, requested_version(ctx))
    await ctx.ns.tags_changed(ctx.bucket or "", ctx.key_bytes, tags or None)
    return empty(200, headers)


async def delete_object_tagging(ctx: Ctx) -> Response:
    _, headers = await _object(ctx)
    await ctx.store.set_tags(ctx.bucket or "", ctx.key_bytes, None, requested_version(ctx))
    return empty(204, headers)


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
    obj, version_headers = await _object(ctx)
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
        xml.document("GetObjectAttributesResponse", nodes),
        headers=[("Last-Modified", http_date(obj.mtime)), *version_headers],
    )


def _parts(ctx: Ctx, obj: Object) -> list[xml.Node]:
    assert obj.parts is not None
    h = ctx.headers
    marker = integers.count(PART_NUMBER_MARKER, h.get(PART_NUMBER_MARKER), 0, integers.INT_MAX)
    max_parts = integers.count(MAX_PARTS, h.get(MAX_PARTS), PARTS_PAGE, PARTS_PAGE)
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
