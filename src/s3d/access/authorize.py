"""The one authorization decision: may this caller do this action on this bucket (and key)?

Order, as AWS evaluates a bucket policy and ACLs for one account: an explicit Deny in the bucket
policy refuses; the bucket owner is allowed; an Allow in the bucket policy allows; an ACL grant
allows (only when the bucket's ObjectOwnership enables ACLs); anything else is AccessDenied.
Public access block settings drop public policy statements (RestrictPublicBuckets, for anonymous
callers) and public ACL grants (IgnorePublicAcls) from the evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from s3d.access import acl, settings
from s3d.access.actions import LIST_BUCKET, READ_OBJECT, READ_OBJECT_VERSION, action_of, resource_arn
from s3d.access.policy import Effect, PolicyRequest, compiled
from s3d.access.principals import Directory
from s3d.config import Settings, User
from s3d.s3.auth import Auth
from s3d.s3.errors import S3Error
from s3d.server.http import Request
from s3d.store.buckets import Bucket
from s3d.store.store import Store


class Ctx(Protocol):
    """What authorization reads of a request: s3/context.py's Ctx (a protocol, so s3/ may call in here)."""

    @property
    def req(self) -> Request: ...
    @property
    def store(self) -> Store: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def query(self) -> dict[str, str]: ...
    @property
    def bucket(self) -> str | None: ...
    @property
    def key(self) -> str | None: ...
    @property
    def auth(self) -> Auth | None: ...
    @property
    def user(self) -> User | None: ...
    @property
    def operation(self) -> str: ...
    @property
    def granted(self) -> dict[str, Bucket]: ...  # buckets this request was authorized on (filled in here)
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def resource(self) -> str: ...


# operations that authorize themselves (PostObject by its form) or need no authorization (CORS preflight)
SELF_AUTHORIZED = frozenset({"PostObject", "PreflightBucket", "PreflightObject"})
COPY_OPERATIONS = frozenset({"CopyObject", "UploadPartCopy"})
PER_KEY = frozenset({"DeleteObjects"})  # authorized key by key in the handler (check_key)
READS = frozenset({"GetObject", "HeadObject", "SelectObjectContent"})
LIST_KEYS = {"s3:prefix": "prefix", "s3:delimiter": "delimiter", "s3:max-keys": "max-keys"}
S3_HEADER_KEYS = "s3:x-amz-"
SIGV2 = "AWS"
SIGV4 = "AWS4-HMAC-SHA256"

_directories: dict[int, Directory] = {}


def directory(s: Settings) -> Directory:
    d = _directories.get(id(s))
    if d is None:
        d = _directories[id(s)] = Directory(s.users)
    return d


def user_arn(u: User) -> str:
    return f"arn:aws:iam::000000000000:user/{u.name}"


def _lookup(ctx: Ctx, bucket: str, key: str | None, action: str) -> PolicyRequest:
    h = ctx.headers
    user = ctx.user
    now = time.time()
    tags: dict[str, str] | None = None

    def existing_tags() -> dict[str, str]:
        nonlocal tags
        if tags is None:
            obj = ctx.store.get_object(bucket, key.encode()) if key is not None else None
            tags = dict(obj.tags or []) if obj is not None else {}
        return tags

    def lookup(name: str) -> list[str] | None:
        if name == "aws:sourceip":
            return [ctx.req.client] if ctx.req.client else None
        if name == "aws:securetransport":
            return ["true" if ctx.req.secure else "false"]
        if name == "aws:currenttime":
            return [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))]
        if name == "aws:epochtime":
            return [str(int(now))]
        if name == "aws:useragent":
            return _one(h.get("user-agent"))
        if name == "aws:referer":
            return _one(h.get("referer"))
        if name in ("aws:username", "aws:userid"):
            return [user.name] if user else None
        if name == "aws:principalarn":
            return [user_arn(user)] if user else None
        if name == "aws:principaltype":
            return ["User" if user else "Anonymous"]
        if name in LIST_KEYS:
            return _one(ctx.query.get(LIST_KEYS[name])) if action == LIST_BUCKET else None
        if name == "s3:signatureversion":
            return None if ctx.auth is None else [SIGV2 if not ctx.auth.scope else SIGV4]
        if name == "s3:authtype":
            if ctx.auth is None:
                return None
            return ["REST-QUERY-STRING" if ctx.auth.presigned else "REST-HEADER"]
        if name.startswith("s3:existingobjecttag/"):
            return _one(existing_tags().get(name[len("s3:existingobjecttag/") :]))
        if name.startswith("s3:requestobjecttag/"):
            raw = h.get("x-amz-tagging")
            if raw is None:
                return None
            return _one(dict(parse_qsl(raw, keep_blank_values=True)).get(name[len("s3:requestobjecttag/") :]))
        if name.startswith(S3_HEADER_KEYS):
            return _one(h.get(name[3:]))
        return None

    return PolicyRequest(action, resource_arn(bucket, key), user, lookup)


def _one(v: str | None) -> list[str] | None:
    return None if v is None else [v]


def allowed(ctx: Ctx, b: Bucket, action: str, key: str | None) -> bool:
    user = ctx.user
    cfg = b.config
    pab = settings.PublicAccessBlock.of(cfg)
    effect = Effect.NOT_APPLICABLE
    text = cfg.get(settings.POLICY)
    if text:
        policy = compiled(text, b.name, directory(ctx.settings).resolve)
        public_ok = not (pab.restrict_public_buckets and user is None)
        effect = policy.evaluate(_lookup(ctx, b.name, key, action), public_statements=public_ok)
    if effect is Effect.DENY:
        return False
    if user is not None and user.name == b.owner:
        return True
    if effect is Effect.ALLOW:
        return True
    if not settings.acls_enabled(cfg):
        return False
    public = not pab.ignore_public_acls
    name = user.name if user else None
    if settings.bucket_acl(cfg, b.owner).allows(name, action, acl.BUCKET_ACTIONS, public):
        return True
    if key is not None and action in acl.OBJECT_ACL_ACTIONS:
        obj = ctx.store.get_object(b.name, key.encode())
        if obj is not None and acl.object_acl(obj.meta, b.owner).allows(name, action, acl.OBJECT_ACTIONS, public):
            return True
    return False


def check(ctx: Ctx, b: Bucket, action: str, key: str | None) -> Bucket:
    """The bucket, if the caller may do ``action`` on it (and ``key``); AccessDenied if not."""
    known = ctx.granted.get(b.name)
    same = known is not None and known.owner == b.owner and known.config == b.config
    if not same and not allowed(ctx, b, action, key):
        raise S3Error("AccessDenied", resource=f"/{b.name}" if key is None else f"/{b.name}/{key}")
    ctx.granted[b.name] = b
    return b


def check_key(ctx: Ctx, b: Bucket, action: str, key: str) -> None:
    """One key of a multi-key request (DeleteObjects): AccessDenied for this key alone if not allowed."""
    if not allowed(ctx, b, action, key):
        raise S3Error("AccessDenied", resource=f"/{b.name}/{key}")


def check_named(ctx: Ctx, name: str, b: Bucket) -> Bucket:
    """check() for a bucket a handler looked up: the request's own, or a copy's source bucket."""
    if ctx.operation in PER_KEY and name == ctx.bucket:
        return b
    if ctx.operation in COPY_OPERATIONS and name != ctx.bucket:
        source = copy_source(ctx)
        return check(ctx, b, source.action if source else READ_OBJECT, source.key if source else None)
    return check(ctx, b, action_of(ctx.operation, ctx.query.get("versionId")), ctx.key)


@dataclass(frozen=True, slots=True)
class CopySource:
    bucket: str
    key: str
    action: str  # s3:GetObject, or s3:GetObjectVersion when a version is named


def copy_source(ctx: Ctx) -> CopySource | None:
    raw = ctx.headers.get("x-amz-copy-source")
    if not raw:
        return None
    target, _, query = raw.partition("?")
    path = unquote(target).lstrip("/")
    bucket, _, key = path.partition("/")
    named = any(name == "versionId" for name, _ in parse_qsl(query, keep_blank_values=True))
    return CopySource(bucket, key, READ_OBJECT_VERSION if named else READ_OBJECT) if bucket and key else None


def authorize_request(ctx: Ctx) -> None:
    """Called once a request is authenticated, before any of its body is read."""
    op = ctx.operation
    if op in SELF_AUTHORIZED:
        return
    if ctx.bucket is None or op in ("CreateBucket", ""):
        if ctx.user is None:
            raise S3Error("AccessDenied")
        return
    b = ctx.store.get_bucket(ctx.bucket)
    if b is None:
        if ctx.user is None:
            raise S3Error("NoSuchBucket", resource=f"/{ctx.bucket}", extra={"BucketName": ctx.bucket})
        return  # the handler answers NoSuchBucket (or, in gateway mode, finds it on the remote)
    if op in PER_KEY and b.config.get(settings.POLICY):
        return  # a policy may allow some keys and not others: the handler asks key by key
    check(ctx, b, action_of(op, ctx.query.get("versionId")), ctx.key)
    if op in COPY_OPERATIONS:
        source = copy_source(ctx)
        if source is not None:
            sb = ctx.store.get_bucket(source.bucket)
            if sb is not None and sb.name != b.name:
                check(ctx, sb, source.action, source.key)
            elif sb is not None and not allowed(ctx, b, source.action, source.key):
                # the same bucket: check() would take it as granted, for the request's own action
                raise S3Error("AccessDenied", resource=f"/{source.bucket}/{source.key}")


def hide_missing(ctx: Ctx, e: S3Error) -> S3Error:
    """A missing key is NoSuchKey only to a caller that may list the bucket; AccessDenied to others (as AWS)."""
    if e.code != "NoSuchKey" or ctx.operation not in READS or ctx.bucket is None:
        return e
    b = ctx.granted.get(ctx.bucket)
    if b is None or allowed(ctx, b, LIST_BUCKET, None):
        return e
    return S3Error("AccessDenied", resource=e.resource or ctx.resource)


def owner_of(ctx: Ctx) -> str | None:
    """The owner of the request's bucket as authorized (for the commit's ownership check)."""
    b = ctx.granted.get(ctx.bucket or "")
    if b is not None:
        return b.owner
    return ctx.user.name if ctx.user else None
