"""ListObjects (V1) and ListObjectsV2."""

from __future__ import annotations

import base64
import binascii

from s3d.access import authorize
from s3d.s3 import integers, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import url_encode, xml_response
from s3d.server.http import Response
from s3d.store.listing import Listing

MAX_KEYS = 1000  # a page holds at most this many keys, whatever max-keys asks


def parse_max_keys(ctx: Ctx) -> int:
    return integers.count("max-keys", ctx.query.get("max-keys"), MAX_KEYS, MAX_KEYS, label="maxKeys")


def parse_encoding(ctx: Ctx) -> bool:
    enc = ctx.query.get("encoding-type")
    if enc is None:
        return False
    if enc != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request")
    return True


def _contents(ctx: Ctx, listing: Listing, enc: bool, owner: bool) -> list[xml.Node]:
    nodes: list[xml.Node] = []
    owner_id = authorize.owner_of(ctx) or ""
    for e in listing.entries:
        item: list[xml.Node] = [
            ("Key", url_encode(e.key.decode(), enc)),
            ("LastModified", xml.iso8601(e.mtime)),
            ("ETag", f'"{e.etag}"'),
            ("Size", e.size),
        ]
        if owner:
            item.append(("Owner", [("ID", owner_id), ("DisplayName", owner_id)]))
        item.append(("StorageClass", e.storage_class or "STANDARD"))
        nodes.append(("Contents", item))
    for p in listing.prefixes:
        nodes.append(("CommonPrefixes", [("Prefix", url_encode(p.decode(), enc))]))
    return nodes


async def list_objects(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    q = ctx.query
    enc = parse_encoding(ctx)
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    max_keys = parse_max_keys(ctx)
    listing = ctx.store.list_objects(ctx.bucket, prefix.encode(), delimiter.encode(), marker.encode(), max_keys)
    nodes: list[xml.Node] = [
        ("Name", ctx.bucket),
        ("Prefix", url_encode(prefix, enc)),
        ("Marker", url_encode(marker, enc)),
        ("MaxKeys", max_keys),
    ]
    if delimiter:
        nodes.append(("Delimiter", url_encode(delimiter, enc)))
    nodes.append(("IsTruncated", listing.truncated))
    if listing.truncated and delimiter and listing.next_marker is not None:
        nodes.append(("NextMarker", url_encode(listing.next_marker.decode(), enc)))
    if enc:
        nodes.append(("EncodingType", "url"))
    nodes += _contents(ctx, listing, enc, owner=True)
    return xml_response(xml.document("ListBucketResult", nodes))


def _decode_token(token: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect") from None
    if not raw.startswith(b"1:"):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect")
    return raw[2:]


def _encode_token(after: bytes) -> str:
    return base64.urlsafe_b64encode(b"1:" + after).decode().rstrip("=")


async def list_objects_v2(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    q = ctx.query
    if q.get("list-type") != "2":
        raise S3Error("InvalidArgument", "Invalid List Type specified in Request")
    enc = parse_encoding(ctx)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    start_after = q.get("start-after", "")
    token = q.get("continuation-token") or None  # an empty token asks for the first page
    after = _decode_token(token) if token is not None else start_after.encode()
    if token is not None and start_after.encode() > after:
        after = start_after.encode()
    max_keys = parse_max_keys(ctx)
    listing = ctx.store.list_objects(ctx.bucket, prefix.encode(), delimiter.encode(), after, max_keys)
    nodes: list[xml.Node] = [("Name", ctx.bucket), ("Prefix", url_encode(prefix, enc))]
    if start_after:
        nodes.append(("StartAfter", url_encode(start_after, enc)))
    if token is not None:
        nodes.append(("ContinuationToken", token))
    if listing.truncated and listing.next_marker is not None:
        nodes.append(("NextContinuationToken", _encode_token(listing.next_marker)))
    nodes.append(("KeyCount", len(listing.entries) + len(listing.prefixes)))
    nodes.append(("MaxKeys", max_keys))
    if delimiter:
        nodes.append(("Delimiter", url_encode(delimiter, enc)))
    nodes.append(("IsTruncated", listing.truncated))
    if enc:
        nodes.append(("EncodingType", "url"))
    nodes += _contents(ctx, listing, enc, owner=q.get("fetch-owner") == "true")
    return xml_response(xml.document("ListBucketResult", nodes))


HANDLERS = {"ListObjects": list_objects, "ListObjectsV2": list_objects_v2}
