"""Bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration, with S3's validation; x-amz-expiration.

The rules run in the store's scanner (store/lifecycle.py).
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace

from s3d.s3 import integers, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import (
    TAG_SHAPE,
    empty,
    parse_timestamp,
    read_document,
    require_integrity_header,
    xml_response,
)
from s3d.server.http import Response
from s3d.store.dates import writable
from s3d.store.lifecycle import ENABLED, LIFECYCLE, Filter, Rule, rules_of

MAX_BODY = 1024 * 1024
MAX_RULES = 1000
MAX_ID = 255
MAX_NEWER_NONCURRENT = 100
STATES = (ENABLED, "Disabled")
SIZES = {"ObjectSizeGreaterThan": xml.TEXT, "ObjectSizeLessThan": xml.TEXT}
FILTER = xml.Shape(
    {
        "Prefix": xml.TEXT,
        "Tag": TAG_SHAPE,
        **SIZES,
        "And": xml.Shape({"Prefix": xml.TEXT, "Tag": TAG_SHAPE.many(), **SIZES}),
    }
)


def _one_storage_class(action: str) -> xml.Shape:
    return xml.Shape(
        repeated=True, unsupported=f"s3d has one storage class: lifecycle action {action} is not implemented."
    )


RULE = xml.Shape(
    {
        "ID": xml.TEXT, "Prefix": xml.TEXT, "Status": xml.TEXT, "Filter": FILTER,
        "Expiration": xml.Shape({"Date": xml.TEXT, "Days": xml.TEXT, "ExpiredObjectDeleteMarker": xml.TEXT}),
        "NoncurrentVersionExpiration": xml.Shape({"NoncurrentDays": xml.TEXT, "NewerNoncurrentVersions": xml.TEXT}),
        "AbortIncompleteMultipartUpload": xml.Shape({"DaysAfterInitiation": xml.TEXT}),
        "Transition": _one_storage_class("Transition"),
        "NoncurrentVersionTransition": _one_storage_class("NoncurrentVersionTransition"),
    },
    repeated=True,
)  # fmt: skip
LIFECYCLE_CONFIGURATION = xml.Shape({"Rule": RULE})
FILTER_FORMS = {
    "Prefix": "prefix",
    "Tag": "tag",
    "ObjectSizeGreaterThan": "gt",
    "ObjectSizeLessThan": "lt",
    "And": "and",
}


def _positive(el: ET.Element, name: str, message: str) -> int | None:
    raw = xml.text(el, name)
    if raw is None:
        return None
    n = integers.parse(raw, 1)
    if n is None:
        raise S3Error("InvalidArgument", message)
    return n


def _size(el: ET.Element, name: str) -> int | None:
    raw = xml.text(el, name)
    if raw is None:
        return None
    n = integers.parse(raw, 0, integers.LONG_MAX)
    if n is None:
        raise S3Error("InvalidArgument", f"'{name}' must be a non-negative integer")
    return n


def _tag(el: ET.Element) -> tuple[str, str]:
    k, v = xml.text(el, "Key"), xml.text(el, "Value")
    if k is None or v is None:
        raise S3Error("MalformedXML")
    return k, v


def _filter(rule: ET.Element) -> tuple[Filter, str, bool]:
    """The rule's filter, how it was written, and whether it was the legacy top-level Prefix."""
    f, legacy = rule.find("Filter"), xml.text(rule, "Prefix")
    if (f is None) == (legacy is None):
        raise S3Error("MalformedXML")
    if f is None:
        return Filter(prefix=legacy or ""), "prefix", True
    given = [child.tag for child in f]
    if len(given) > 1 or any(g not in FILTER_FORMS for g in given):
        raise S3Error("MalformedXML")
    if not given:
        return Filter(), "prefix", False
    form = FILTER_FORMS[given[0]]
    if form == "tag":
        tag = f.find("Tag")
        assert tag is not None
        return Filter(tags=[_tag(tag)]), form, False
    if form == "and":
        a = f.find("And")
        assert a is not None
        out = Filter(
            prefix=xml.text(a, "Prefix") or "", tags=[_tag(t) for t in a.findall("Tag")],
            size_gt=_size(a, "ObjectSizeGreaterThan"), size_lt=_size(a, "ObjectSizeLessThan"),
        )  # fmt: skip
        if len({k for k, _ in out.tags}) != len(out.tags):
            raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    else:
        out = Filter(
            prefix=xml.text(f, "Prefix") or "",
            size_gt=_size(f, "ObjectSizeGreaterThan"), size_lt=_size(f, "ObjectSizeLessThan"),
        )  # fmt: skip
    if out.size_gt is not None and out.size_lt is not None and out.size_gt >= out.size_lt:
        raise S3Error("InvalidArgument", "ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return out, form, False


def _rule(el: ET.Element) -> Rule:
    rule_id = xml.text(el, "ID") or ""
    if len(rule_id) > MAX_ID:
        raise S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255")
    status = xml.text(el, "Status")
    if status not in STATES:
        raise S3Error("MalformedXML")
    flt, form, legacy = _filter(el)
    r = Rule(rule_id, status == ENABLED, flt, legacy, form)
    exp = el.find("Expiration")
    if exp is not None:
        given = [t for t in ("Days", "Date", "ExpiredObjectDeleteMarker") if exp.find(t) is not None]
        if len(given) != 1:
            raise S3Error("MalformedXML")
        r.expire_days = _positive(exp, "Days", "'Days' for Expiration action must be a positive integer")
        if given == ["Date"]:
            ts = parse_timestamp(xml.text(exp, "Date") or "")
            if ts is None:
                raise S3Error("InvalidArgument", "'Date' must be a valid ISO 8601 date")
            if ts % 86400:
                raise S3Error("InvalidArgument", "'Date' must be at midnight GMT")
            r.expire_date = ts
        if given == ["ExpiredObjectDeleteMarker"]:
            marker = (xml.text(exp, "ExpiredObjectDeleteMarker") or "").strip().lower()
            if marker not in ("true", "false"):
                raise S3Error("MalformedXML")
            if flt.tags:
                raise S3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with object tags.")
            r.expire_markers = marker == "true"
    nve = el.find("NoncurrentVersionExpiration")
    if nve is not None:
        r.noncurrent_days = _positive(
            nve, "NoncurrentDays", "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"
        )
        if r.noncurrent_days is None:
            raise S3Error("MalformedXML")
        newer = _positive(nve, "NewerNoncurrentVersions", "NewerNoncurrentVersions must be a positive integer")
        if newer is not None and newer > MAX_NEWER_NONCURRENT:
            raise S3Error("InvalidArgument", "NewerNoncurrentVersions cannot be greater than 100")
        r.newer_noncurrent = newer
    abort = el.find("AbortIncompleteMultipartUpload")
    if abort is not None:
        if flt.tags or flt.size_gt is not None or flt.size_lt is not None:
            raise S3Error(
                "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags or object sizes."
            )
        r.abort_days = _positive(abort, "DaysAfterInitiation", "'DaysAfterInitiation' must be a positive integer")
        if r.abort_days is None:
            raise S3Error("MalformedXML")
    if exp is None and nve is None and abort is None:
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    return r


def parse_configuration(body: bytes) -> list[Rule]:
    root = xml.parse(body)
    xml.conform(root, "LifecycleConfiguration", LIFECYCLE_CONFIGURATION)
    rules = [_rule(el) for el in root.findall("Rule")]
    if not rules:
        raise S3Error("MalformedXML")
    if len(rules) > MAX_RULES:
        raise S3Error("InvalidRequest", "The number of lifecycle rules must not exceed the allowed limit of 1000 rules")
    ids = [r.id for r in rules if r.id]
    if len(set(ids)) != len(ids):
        raise S3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")
    return [r if r.id else replace(r, id=new_rule_id()) for r in rules]  # S3 names a rule given none


def new_rule_id() -> str:
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()  # the form of the ids S3 makes


def _render_filter(r: Rule) -> list[xml.Node]:
    f = r.filter
    if r.legacy_prefix:
        return [("Prefix", f.prefix)]
    sizes: list[xml.Node] = [("ObjectSizeGreaterThan", f.size_gt), ("ObjectSizeLessThan", f.size_lt)]
    tags: list[xml.Node] = [("Tag", [("Key", k), ("Value", v)]) for k, v in f.tags]
    inner: list[xml.Node]
    if r.filter_form == "and":
        inner = [("And", [("Prefix", f.prefix or None), *tags, *sizes])]
    elif r.filter_form == "tag":
        inner = tags
    elif r.filter_form in ("gt", "lt"):
        inner = sizes
    else:
        inner = [("Prefix", f.prefix)]
    return [("Filter", inner)]


def _render(r: Rule) -> list[xml.Node]:
    nodes: list[xml.Node] = [("ID", r.id or None), *_render_filter(r), ("Status", ENABLED if r.enabled else "Disabled")]
    if r.expire_days is not None:
        nodes.append(("Expiration", [("Days", r.expire_days)]))
    elif r.expire_date is not None:
        nodes.append(("Expiration", [("Date", xml.iso8601(writable(r.expire_date)))]))  # stored before Date was bounded
    elif r.expire_markers is not None:
        nodes.append(("Expiration", [("ExpiredObjectDeleteMarker", r.expire_markers)]))
    if r.noncurrent_days is not None:
        nodes.append(
            (
                "NoncurrentVersionExpiration",
                [("NoncurrentDays", r.noncurrent_days), ("NewerNoncurrentVersions", r.newer_noncurrent)],
            )
        )
    if r.abort_days is not None:
        nodes.append(("AbortIncompleteMultipartUpload", [("DaysAfterInitiation", r.abort_days)]))
    return nodes


async def put_bucket_lifecycle(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    require_integrity_header(ctx)
    rules = parse_configuration(await read_document(ctx, MAX_BODY))
    await ctx.store.set_bucket_config(b.name, LIFECYCLE, [r.to_json() for r in rules])
    return empty(200)


async def get_bucket_lifecycle(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    rules = rules_of(b.config)
    if not rules:
        raise S3Error(
            "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", extra={"BucketName": b.name}
        )
    return xml_response(xml.document("LifecycleConfiguration", [("Rule", _render(r)) for r in rules]))


async def delete_bucket_lifecycle(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, LIFECYCLE, None)
    return empty(204)


HANDLERS = {
    "PutBucketLifecycleConfiguration": put_bucket_lifecycle,
    "GetBucketLifecycleConfiguration": get_bucket_lifecycle,
    "DeleteBucketLifecycle": delete_bucket_lifecycle,
}
