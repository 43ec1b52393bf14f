"""Object lock: Put/GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from s3d.s3 import integers, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import (
    HOLD_STATES,
    bypass_governance,
    empty,
    future_retention,
    read_document,
    requested_version,
    require_integrity_header,
    require_lock,
    xml_response,
)
from s3d.server.http import Response
from s3d.store import locks
from s3d.store.buckets import OBJECT_LOCK
from s3d.store.objects import Object

MAX_BODY = 64 * 1024
LOCK_ENABLED = "Enabled"
PERIODS = (("Days", "days"), ("Years", "years"))
MAX_PERIOD = {"days": 36500, "years": 100}  # AWS's longest default retention: 100 years
EVENT_HOLDS = xml.Shape(unsupported="s3d does not implement event holds.")
OBJECT_LOCK_CONFIGURATION = xml.Shape(
    {
        "ObjectLockEnabled": xml.TEXT,
        "Rule": xml.Shape(
            {
                "DefaultRetention": xml.Shape(
                    {"Mode": xml.TEXT, **{tag: xml.TEXT for tag, _ in PERIODS}, "DefaultEventHold": EVENT_HOLDS}
                )
            }
        ),
    }
)
RETENTION = xml.Shape(
    {"Mode": xml.TEXT, "RetainUntilDate": xml.TEXT, "EventHold": EVENT_HOLDS, "EventHoldDuration": EVENT_HOLDS}
)
LEGAL_HOLD = xml.Shape({"Status": xml.TEXT})


# ---------- bucket ----------
def _parse_rule(root: ET.Element) -> dict[str, Any]:
    rule = root.find("Rule")
    if rule is None:
        return {}
    dr = rule.find("DefaultRetention")
    if dr is None:
        raise S3Error("MalformedXML")
    mode = xml.text(dr, "Mode")
    if mode not in locks.MODES:
        raise S3Error("MalformedXML")
    given = [(tag, name, raw) for tag, name in PERIODS if (raw := xml.text(dr, tag)) is not None]
    if len(given) != 1:
        raise S3Error("MalformedXML")
    tag, name, raw = given[0]
    return {"mode": mode, name: _period(tag, name, raw)}


def _period(tag: str, name: str, raw: str) -> int:
    """A default retention's Days or Years: a positive integer, at most AWS's 100 years."""
    period = integers.parse(raw)
    if period is None or period <= 0:
        message = "Default retention period must be a positive integer value."
    elif period > MAX_PERIOD[name]:
        message = f"Default retention period must be at most {MAX_PERIOD['days']} days or {MAX_PERIOD['years']} years."
    else:
        return period
    raise S3Error("InvalidArgument", message, extra={"ArgumentName": tag, "ArgumentValue": raw})


async def put_object_lock_configuration(ctx: Ctx) -> Response:
    """Sets the default retention, and turns object lock on for a bucket with versioning enabled (as AWS since
    2023); it cannot be turned off."""
    b = ctx.need_bucket()
    require_integrity_header(ctx)
    root = xml.parse(await read_document(ctx, MAX_BODY))
    xml.conform(root, "ObjectLockConfiguration", OBJECT_LOCK_CONFIGURATION)
    if xml.text(root, "ObjectLockEnabled") != LOCK_ENABLED:
        raise S3Error("MalformedXML")
    await ctx.store.enable_object_lock(b.name, _parse_rule(root))
    return empty(200)


async def get_object_lock_configuration(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    config = b.config.get(OBJECT_LOCK)
    if config is None:
        raise S3Error("ObjectLockConfigurationNotFoundError", resource=ctx.resource, extra={"BucketName": b.name})
    nodes: list[xml.Node] = [("ObjectLockEnabled", LOCK_ENABLED)]
    if config:
        period = [(tag, config[name]) for tag, name in PERIODS if name in config]
        nodes.append(("Rule", [("DefaultRetention", [("Mode", config["mode"]), *period])]))
    return xml_response(xml.document("ObjectLockConfiguration", nodes))


# ---------- versions ----------
async def _version(ctx: Ctx) -> Object:
    b = ctx.need_bucket()
    require_lock(ctx, b)
    version_id = requested_version(ctx)
    if version_id is None:
        obj = ctx.store.get_object(b.name, ctx.key_bytes)
        if obj is None:
            raise S3Error("NoSuchKey", resource=ctx.resource, extra={"Key": ctx.key or ""})
        return obj
    v = ctx.store.find_version(b.name, ctx.key_bytes, version_id)
    if v is None:
        raise S3Error("NoSuchVersion", resource=ctx.resource, extra={"Key": ctx.key or "", "VersionId": version_id})
    if v.marker:
        raise S3Error("MethodNotAllowed", extra={"Method": ctx.req.method, "ResourceType": "DeleteMarker"})
    return v.obj


async def put_object_retention(ctx: Ctx) -> Response:
    obj = await _version(ctx)
    require_integrity_header(ctx)
    root = xml.parse(await read_document(ctx, MAX_BODY))
    xml.conform(root, "Retention", RETENTION)
    mode, until = xml.text(root, "Mode"), xml.text(root, "RetainUntilDate")
    new: locks.Retention | None = None
    if mode is not None or until is not None:
        if mode is None or until is None:
            raise S3Error("MalformedXML")
        new = future_retention(mode, until)
    bypass = bypass_governance(ctx, ctx.need_bucket())

    def change(meta: dict[str, str]) -> dict[str, str]:
        locks.check_retention_change(locks.retention_of(meta), new, bypass)
        return locks.with_retention(meta, new)

    await ctx.store.change_lock(obj.bucket, obj.key, requested_version(ctx), change)
    return empty(200)


async def get_object_retention(ctx: Ctx) -> Response:
    obj = await _version(ctx)
    r = locks.retention_of(obj.meta)
    if r is None:
        raise S3Error("NoSuchObjectLockConfiguration", resource=ctx.resource)
    return xml_response(xml.document("Retention", [("Mode", r.mode), ("RetainUntilDate", r.until_iso)]))


async def put_object_legal_hold(ctx: Ctx) -> Response:
    obj = await _version(ctx)
    require_integrity_header(ctx)
    root = xml.parse(await read_document(ctx, MAX_BODY))
    xml.conform(root, "LegalHold", LEGAL_HOLD)
    status = xml.text(root, "Status")
    if status not in HOLD_STATES:
        raise S3Error("MalformedXML")
    on = status == locks.HOLD_ON
    await ctx.store.change_lock(obj.bucket, obj.key, requested_version(ctx), lambda m: locks.with_legal_hold(m, on))
    return empty(200)


async def get_object_legal_hold(ctx: Ctx) -> Response:
    obj = await _version(ctx)
    status = obj.meta.get(locks.HOLD_META)
    if status is None:
        raise S3Error("NoSuchObjectLockConfiguration", resource=ctx.resource)
    return xml_response(xml.document("LegalHold", [("Status", status)]))


HANDLERS = {
    "PutObjectLockConfiguration": put_object_lock_configuration,
    "GetObjectLockConfiguration": get_object_lock_configuration,
    "PutObjectRetention": put_object_retention,
    "GetObjectRetention": get_object_retention,
    "PutObjectLegalHold": put_object_legal_hold,
    "GetObjectLegalHold": get_object_legal_hold,
}
