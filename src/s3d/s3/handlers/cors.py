"""Bucket CORS: the configuration calls, OPTIONS preflight, and headers on actual responses."""

from __future__ import annotations

from typing import Any

from s3d.s3 import integers, xml
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.handlers.common import empty, read_document, xml_response
from s3d.server.http import Response
from s3d.store.buckets import Bucket

METHODS = {"GET", "PUT", "POST", "DELETE", "HEAD"}
MAX_RULES = 100
MAX_BODY = 64 * 1024

Rule = dict[str, Any]


CORS_RULE = xml.Shape(
    {
        "ID": xml.TEXT, "AllowedHeader": xml.TEXTS, "AllowedMethod": xml.TEXTS, "AllowedOrigin": xml.TEXTS,
        "ExposeHeader": xml.TEXTS, "MaxAgeSeconds": xml.TEXT,
    },
    repeated=True,
)  # fmt: skip
CORS_CONFIGURATION = xml.Shape({"CORSRule": CORS_RULE})


def parse_cors(body: bytes) -> list[Rule]:
    root = xml.parse(body)
    xml.conform(root, "CORSConfiguration", CORS_CONFIGURATION)
    rules: list[Rule] = []
    for r in root.findall("CORSRule"):
        rule: Rule = {
            "id": xml.text(r, "ID"),
            "origins": [e.text or "" for e in r.findall("AllowedOrigin")],
            "methods": [e.text or "" for e in r.findall("AllowedMethod")],
            "headers": [(e.text or "").lower() for e in r.findall("AllowedHeader")],
            "expose": [e.text or "" for e in r.findall("ExposeHeader")],
            "max_age": None,
        }
        max_age = xml.text(r, "MaxAgeSeconds")
        if max_age is not None:
            rule["max_age"] = integers.parse(max_age, 0)
            if rule["max_age"] is None:
                raise S3Error("MalformedXML")
        if not rule["origins"] or not rule["methods"]:
            raise S3Error("MalformedXML")
        for m in rule["methods"]:
            if m not in METHODS:
                raise S3Error(
                    "InvalidRequest", f"Found unsupported HTTP method in CORS config. Unsupported method is {m}"
                )
        for o in rule["origins"]:
            if o.count("*") > 1:
                raise S3Error("InvalidRequest", f'AllowedOrigin "{o}" can not have more than one wildcard.')
        rules.append(rule)
    if not rules or len(rules) > MAX_RULES:
        raise S3Error("MalformedXML")
    return rules


def render_cors(rules: list[Rule]) -> bytes:
    nodes: list[xml.Node] = []
    for r in rules:
        item: list[xml.Node] = []
        if r.get("id"):
            item.append(("ID", r["id"]))
        item += [("AllowedHeader", h) for h in r["headers"]]
        item += [("AllowedMethod", m) for m in r["methods"]]
        item += [("AllowedOrigin", o) for o in r["origins"]]
        item += [("ExposeHeader", e) for e in r["expose"]]
        if r.get("max_age") is not None:
            item.append(("MaxAgeSeconds", r["max_age"]))
        nodes.append(("CORSRule", item))
    return xml.document("CORSConfiguration", nodes)


async def get_bucket_cors(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    rules = b.config.get("cors")
    if not rules:
        raise S3Error("NoSuchCORSConfiguration", extra={"BucketName": b.name})
    return xml_response(render_cors(rules))


async def put_bucket_cors(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, "cors", parse_cors(await read_document(ctx, MAX_BODY)))
    return empty(200)


async def delete_bucket_cors(ctx: Ctx) -> Response:
    b = ctx.need_bucket()
    await ctx.store.set_bucket_config(b.name, "cors", None)
    return empty(204)


# ---------- enforcement ----------
def _match(pattern: str, value: str) -> bool:
    """An AllowedOrigin/AllowedHeader pattern: exact, or with one '*' standing for any run of characters."""
    if "*" not in pattern:
        return pattern == value
    pre, _, post = pattern.partition("*")
    return len(value) >= len(pre) + len(post) and value.startswith(pre) and value.endswith(post)


def find_rule(rules: list[Rule], origin: str, method: str, request_headers: list[str]) -> Rule | None:
    for r in rules:
        if not any(_match(o, origin) for o in r["origins"]):
            continue
        if method not in r["methods"]:
            continue
        if all(any(_match(p, h.lower()) for p in r["headers"]) for h in request_headers):
            return r
    return None


def _allow_headers(rule: Rule, origin: str) -> list[tuple[str, str]]:
    wildcard = "*" in rule["origins"]
    out = [("Access-Control-Allow-Origin", "*" if wildcard else origin)]
    if not wildcard:
        out.append(("Access-Control-Allow-Credentials", "true"))
    out.append(("Access-Control-Allow-Methods", ", ".join(rule["methods"])))
    if rule["expose"]:
        out.append(("Access-Control-Expose-Headers", ", ".join(rule["expose"])))
    if rule.get("max_age") is not None:
        out.append(("Access-Control-Max-Age", str(rule["max_age"])))
    out.append(("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"))
    return out


def response_headers(bucket: Bucket | None, origin: str, method: str) -> list[tuple[str, str]]:
    """CORS headers for an actual (non-preflight) request from a browser, if a rule allows it."""
    if bucket is None:
        return []
    rules = bucket.config.get("cors")
    if not rules:
        return []
    rule = find_rule(rules, origin, method, [])
    return _allow_headers(rule, origin) if rule else []


def _forbidden(message: str) -> S3Error:
    return S3Error("AccessForbidden", message, status=403)


async def preflight(ctx: Ctx) -> Response:
    """OPTIONS: answered from the bucket's CORS rules, without credentials (browsers send none)."""
    origin = ctx.headers.get("origin")
    method = ctx.headers.get("access-control-request-method")
    if not origin or not method:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.", status=400)
    b = ctx.store.get_bucket(ctx.bucket or "")
    if b is None:
        raise S3Error("NoSuchBucket", extra={"BucketName": ctx.bucket or ""})
    rules = b.config.get("cors")
    if not rules:
        raise _forbidden("CORSResponse: CORS is not enabled for this bucket.")
    requested = [h.strip() for h in ctx.headers.get("access-control-request-headers", "").split(",") if h.strip()]
    rule = find_rule(rules, origin, method, requested)
    if rule is None:
        raise _forbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
            "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted "
            "by the resource's CORS spec."
        )
    headers = _allow_headers(rule, origin)
    if requested:
        headers.append(("Access-Control-Allow-Headers", ", ".join(h.lower() for h in requested)))
    return empty(200, headers)


HANDLERS = {
    "GetBucketCors": get_bucket_cors,
    "PutBucketCors": put_bucket_cors,
    "DeleteBucketCors": delete_bucket_cors,
    "PreflightBucket": preflight,
    "PreflightObject": preflight,
}
