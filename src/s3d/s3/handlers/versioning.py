"""Bucket versioning: PutBucketVersioning, GetBucketVersioning, ListObjectVersions."""

from __future__ import annotations

from s3d.s3 import xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import check_version_id, empty, read_document, url_encode, xml_response
from s3d.s3.handlers.listing import parse_encoding, parse_max_keys
from s3d.server.http import Response
from s3d.store import versions
from s3d.store.buckets import VERSIONING

MAX_BODY = 64 * 1024
MFA_DELETE_OFF = "Disabled"
VERSIONING_CONFIGURATION = xml.Shape({"MfaDelete": xml.TEXT, "Status": xml.TEXT})


async def put_bucket_versioning(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    root = xml.parse(await read_document(ctx, MAX_BODY))
    xml.conform(root, "VersioningConfiguration", VERSIONING_CONFIGURATION)
    mfa = xml.text(root, "MfaDelete")
    if mfa is not None and mfa != MFA_DELETE_OFF:
        if mfa != "Enabled":
            raise S3Error("MalformedXML")
        raise S3Error("NotImplemented", "s3d does not implement MFA delete.", resource=ctx.resource)
    status = xml.text(root, "Status")
    if status is None:
        return empty(200)  # S3 leaves the state as it is
    if status not in versions.STATES:
        raise S3Error("MalformedXML")
    await ctx.store.set_versioning(b.name, status)  # refused (InvalidBucketState) on a bucket with object lock
    return empty(200)


async def get_bucket_versioning(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    state = b.config.get(VERSIONING)
    nodes: list[xml.Node] = [("Status", state)] if state else []
    return xml_response(xml.document("VersioningConfiguration", nodes))


async def list_object_versions(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    assert ctx.user is not None
    q = ctx.query
    enc = parse_encoding(ctx)
    limit = parse_max_keys(ctx)
    prefix, delimiter, key_marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("key-marker", "")
    version_id_marker = q.get("version-id-marker")
    if version_id_marker is not None:
        if not key_marker:
            raise S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.")
        check_version_id(version_id_marker)
    page = ctx.store.list_versions(
        b.name, prefix.encode(), delimiter.encode(), key_marker.encode(), version_id_marker, limit
    )
    owner: list[xml.Node] = [("ID", ctx.user.name), ("DisplayName", ctx.user.name)]
    nodes: list[xml.Node] = [
        ("Name", b.name),
        ("Prefix", url_encode(prefix, enc)),
        ("KeyMarker", url_encode(key_marker, enc)),
        ("VersionIdMarker", version_id_marker or ""),
        ("MaxKeys", limit),
    ]
    if delimiter:
        nodes.append(("Delimiter", url_encode(delimiter, enc)))
    if enc:
        nodes.append(("EncodingType", "url"))
    nodes.append(("IsTruncated", page.truncated))
    if page.truncated and page.next_key is not None:
        nodes.append(("NextKeyMarker", url_encode(page.next_key.decode(), enc)))
        if page.next_version_id is not None:
            nodes.append(("NextVersionIdMarker", page.next_version_id))
    for v in page.versions:
        o = v.obj
        item: list[xml.Node] = [
            ("Key", url_encode(o.key.decode(), enc)),
            ("VersionId", versions.s3_id(o.version_id)),
            ("IsLatest", v.latest),
            ("LastModified", xml.iso8601(o.mtime)),
        ]
        if v.marker:
            nodes.append(("DeleteMarker", [*item, ("Owner", owner)]))
            continue
        item += [
            ("ETag", f'"{o.etag}"'),
            ("Size", o.size),
            ("StorageClass", o.meta.get("x-amz-storage-class", "STANDARD")),
            ("Owner", owner),
        ]
        nodes.append(("Version", item))
    for p in page.prefixes:
        nodes.append(("CommonPrefixes", [("Prefix", url_encode(p.decode(), enc))]))
    return xml_response(xml.document("ListVersionsResult", nodes))


HANDLERS = {
    "PutBucketVersioning": put_bucket_versioning,
    "GetBucketVersioning": get_bucket_versioning,
    "ListObjectVersions": list_object_versions,
}
