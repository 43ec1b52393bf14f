"""Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from s3d.access import settings as access
from s3d.s3 import integers, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers import acls
from s3d.s3.handlers.common import empty, read_document, xml_response
from s3d.server.http import Response
from s3d.store import versions
from s3d.store.buckets import OBJECT_LOCK, VERSIONING
from s3d.store.errors import BucketAlreadyOwnedByYou

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
MAX_CONFIG_BODY = 64 * 1024
LEGACY_REGION = "us-east-1"
REGION_NAME = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")  # an AWS region's form: us-east-1, us-gov-west-1
LEGACY_EU = "EU"  # S3's old LocationConstraint for eu-west-1
DIRECTORY_BUCKET_ELEMENTS = frozenset({"Location", "Bucket"})


def valid_bucket_name(name: str) -> bool:
    return bool(
        _NAME.match(name)
        and not _IP.match(name)
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not name.endswith(("-s3alias", "--ol-s3", "--x-s3", ".mrap"))
    )


async def list_buckets(ctx: Ctx) -> Response:
    assert ctx.user is not None
    q = ctx.query
    buckets = ctx.store.list_buckets(owner=ctx.user.name)
    prefix = q.get("prefix", "")
    if prefix:
        buckets = [b for b in buckets if b.name.startswith(prefix)]
    region = q.get("bucket-region")
    if region:
        buckets = [b for b in buckets if b.region == region]
    token = q.get("continuation-token", "")
    if token:
        buckets = [b for b in buckets if b.name > token]
    max_buckets = integers.parse(q.get("max-buckets") or "10000", 1, 10000)
    if max_buckets is None:
        raise S3Error("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000.")
    page, rest = buckets[:max_buckets], buckets[max_buckets:]
    nodes: list[xml.Node] = [
        ("Owner", [("ID", ctx.user.name), ("DisplayName", ctx.user.name)]),
        (
            "Buckets",
            [
                ("Bucket", [("Name", b.name), ("CreationDate", xml.iso8601(b.created)), ("BucketRegion", b.region)])
                for b in page
            ],
        ),
    ]
    if rest:
        nodes.append(("ContinuationToken", page[-1].name))
    if prefix:
        nodes.append(("Prefix", prefix))
    return xml_response(xml.document("ListAllMyBucketsResult", nodes))


async def create_bucket(ctx: Ctx) -> Response:
    assert ctx.bucket is not None and ctx.user is not None
    if not valid_bucket_name(ctx.bucket):
        raise S3Error("InvalidBucketName", extra={"BucketName": ctx.bucket})
    region = ctx.settings.region
    access_settings = acls.bucket_settings(ctx)
    body = await read_document(ctx, MAX_CONFIG_BODY)
    if body.strip():
        region = location_constraint(xml.parse(body), region)
    config = None
    lock = ctx.headers.get("x-amz-bucket-object-lock-enabled")
    if lock is not None:
        if lock.lower() not in ("true", "false"):
            raise S3Error("InvalidArgument", "x-amz-bucket-object-lock-enabled must be true or false")
        if lock.lower() == "true":  # object lock needs versioning, for good
            config = {VERSIONING: versions.ENABLED, OBJECT_LOCK: {}}
    try:
        await ctx.store.create_bucket(ctx.bucket, ctx.user.name, region, config)
    except BucketAlreadyOwnedByYou:
        if region != LEGACY_REGION:
            raise
        # us-east-1 keeps S3's original behaviour: re-creating your own bucket succeeds and resets its ACL
        access_settings = {access.ACL: access_settings.get(access.ACL)}
    for item, value in access_settings.items():
        await ctx.store.set_bucket_config(ctx.bucket, item, value)
    return empty(200, [("Location", f"/{ctx.bucket}")])


def location_constraint(root: ET.Element, own: str) -> str:
    """The region a CreateBucketConfiguration asks for (``own``: the daemon's, if it names none)."""
    if root.tag != "CreateBucketConfiguration":
        raise S3Error("MalformedXML")
    tags = [child.tag for child in root]
    if DIRECTORY_BUCKET_ELEMENTS & set(tags):
        raise S3Error("NotImplemented", "s3d has no directory buckets (CreateBucketConfiguration Location, Bucket).")
    if "Tags" in tags:
        raise S3Error("NotImplemented", "s3d does not tag a bucket at CreateBucket; use PutBucketTagging.")
    if any(t != "LocationConstraint" for t in tags) or len(tags) > 1:
        raise S3Error("MalformedXML")
    lc = xml.text(root, "LocationConstraint")
    if not lc or lc == own:
        return own
    if lc == LEGACY_EU:
        return "eu-west-1"
    if not REGION_NAME.fullmatch(lc):
        raise S3Error("InvalidLocationConstraint", extra={"LocationConstraint": lc})
    return lc


async def delete_bucket(ctx: Ctx) -> Response:
    ctx.need_bucket()
    assert ctx.bucket is not None
    await ctx.store.delete_bucket(ctx.bucket)
    return empty(204)


async def head_bucket(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    return empty(200, [("x-amz-bucket-region", b.region), ("x-amz-access-point-alias", "false")])


async def get_bucket_location(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    region = "" if b.region == "us-east-1" else b.region
    body = xml.HEAD.encode() + f'<LocationConstraint xmlns="{xml.NS}">{region}</LocationConstraint>'.encode()
    return xml_response(body)


HANDLERS = {
    "ListBuckets": list_buckets,
    "CreateBucket": create_bucket,
    "DeleteBucket": delete_bucket,
    "HeadBucket": head_bucket,
    "GetBucketLocation": get_bucket_location,
}
