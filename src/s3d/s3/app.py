"""The S3 application: turns an HTTP request into an operation, runs its handler, renders errors."""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from itertools import count
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from s3d import observe
from s3d.access import authorize
from s3d.config import Settings
from s3d.object_keys import MAX_KEY, carries
from s3d.s3 import auth, auth_v2, routes, surface, xml
from s3d.s3.context import Ctx, parse_query
from s3d.s3.errors import S3Error
from s3d.s3.handlers import HANDLERS, cors
from s3d.s3.payload import declared_size
from s3d.s3.store_errors import to_s3
from s3d.server.http import Request, Response
from s3d.store.errors import StoreError
from s3d.store.namespace import Namespace
from s3d.store.store import Store

if TYPE_CHECKING:
    from s3d.gateway.namespace import GatewayNamespace

log = logging.getLogger("s3d")

Handler = Callable[[Ctx], Awaitable[Response]]
# operations that add data to the local store (admitted only while there is room for unshipped data); reserved
# here once the request has authenticated. PostObject authenticates inside its body: it reserves for itself.
WRITES = frozenset({"PutObject", "UploadPart", "CopyObject", "UploadPartCopy"})
# operations that name a new key: it must be one an XML listing can carry (as AWS advises, and every
# client's XML parser requires: encoding-type=url is optional, so a listing without it must stay parseable)
NEW_KEY = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
UNPARSED = "unknown"  # the operation named in logs and metrics for bytes that never became a request
_ids = count(1)
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()  # request ids name the worker process that answered


os.register_at_fork(after_in_child=_forked)


def new_request_id() -> str:
    return f"{_pid & 0xFFFF:04X}{next(_ids):012X}"


def error_response(e: S3Error, request_id: str, resource: str, method: str = "GET") -> Response:
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)] + e.headers
    if e.status == 304 or method == "HEAD":
        # HEAD answers carry no body; the code travels in a header for debugging
        headers.append(("x-amz-error-code", e.code))
        return Response(e.status, headers, b"", content_length=0, error_code=e.code)
    res = e.resource or resource
    if res and not res.startswith("/"):
        res = "/" + res  # the store names a bucket bare; S3 writes resources as paths
    body = xml.error_document(e.code, e.message, res, request_id, e.extra)
    return Response(e.status, headers, body, error_code=e.code)


class S3App:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        ns: Namespace,
        gateway: GatewayNamespace | None = None,
        admin: Handler | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.ns = ns
        self.gateway = gateway
        self.secrets = settings.secrets()
        self.users = {u.access_key: u for u in settings.users}
        self.admin = admin
        self.domains = ["." + d.lower() for d in settings.base_domains]

    def bad_request(self, code: str, client: str) -> Response:
        """The answer to bytes that are not HTTP (or a head too large), logged and counted as a request."""
        message = "An error occurred when parsing the HTTP request." if code == "BadRequest" else None
        rid = new_request_id()
        resp = error_response(S3Error(code, message), rid, "")
        observe.get().request_done(
            observe.RequestRecord(
                request_id=rid, operation=UNPARSED, method="", bucket=None, key=None, status=resp.status,
                error_code=code, bytes_in=0, bytes_out=len(resp.body) if isinstance(resp.body, bytes) else 0,
                duration_s=0.0, remote_calls=0, client=client,
            )
        )  # fmt: skip
        return resp

    def on_error(self, exc: BaseException, request_id: str | None = None) -> Response:
        rid = request_id or new_request_id()
        log.error("unhandled error in request %s: %s", rid, "".join(traceback.format_exception(exc)))
        return error_response(S3Error("InternalError"), rid, "")

    def _address(self, req: Request) -> tuple[str | None, str | None]:
        """(bucket, key) from the Host header (virtual-hosted style) or the path (path style)."""
        host = req.headers.get("host", "").lower()
        if host.startswith("["):
            host = host[: host.find("]") + 1]
        else:
            host = host.rpartition(":")[0] if ":" in host else host
        try:
            # raw bytes of the request target arrive as latin-1; a key is UTF-8, percent-encoded or not
            path = req.path
            if "%" in path or not path.isascii():
                path = unquote_to_bytes(path.encode("latin-1")).decode()
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise S3Error("InvalidURI", "Couldn't parse the specified URI.", status=400) from None
        for d in self.domains:
            if host.endswith(d) and len(host) > len(d):
                bucket = host[: -len(d)]
                key = path[1:] if path.startswith("/") else path
                return bucket, (key or None)
        if not path.startswith("/"):
            raise S3Error("InvalidURI", "Couldn't parse the specified URI.", status=400)
        bucket, slash, key = path[1:].partition("/")
        if not bucket:
            return None, None
        return bucket, (key if slash and key else None)

    def _owner_of(self, bucket: str) -> str | None:
        b = self.store.get_bucket(bucket)
        return b.owner if b else None

    def _v2_resource(self, req: Request, bucket: str | None) -> str:
        """SigV2's canonical resource: the path-style path, as sent."""
        if bucket is not None and not req.path.startswith("/" + bucket):
            return "/" + bucket + req.path
        return req.path

    async def __call__(self, req: Request) -> Response:
        rid = new_request_id()
        obs = observe.get()
        started = time.perf_counter()
        holder: list[Ctx | None] = [None]
        calls = [0]
        token = observe.remote_calls.set(calls)
        try:
            with obs.span("s3.request", method=req.method, request_id=rid):
                resp = await self._handle(req, rid, holder)
        finally:
            observe.remote_calls.reset(token)
        ctx = holder[0]
        op = (
            (ctx.operation or "unknown")
            if ctx
            else ("admin" if req.path.startswith(("/_s3d/", "/metrics")) else "unknown")
        )

        def sent(nbytes: int, ok: bool) -> None:
            # reported once the body is out, so duration and bytes cover the whole transfer
            obs.request_done(
                observe.RequestRecord(
                    request_id=rid, operation=op, method=req.method,
                    bucket=ctx.bucket if ctx else None, key=ctx.key if ctx else None,
                    status=resp.status if ok else 499, error_code=resp.error_code,
                    bytes_in=req.body.received, bytes_out=nbytes,
                    duration_s=time.perf_counter() - started, remote_calls=calls[0], client=req.client,
                )
            )  # fmt: skip

        resp.on_sent = sent
        return resp

    async def _handle(self, req: Request, rid: str, holder: list[Ctx | None]) -> Response:
        ctx: Ctx | None = None
        try:
            if req.path.startswith("/_s3d/") or req.path == "/metrics":
                if self.admin is not None:
                    resp = await self.admin(
                        Ctx(req, self.store, self.ns, self.gateway, self.settings, rid, parse_query(req.query))
                    )
                    if not any(k.lower() == "x-amz-request-id" for k, _ in resp.headers):
                        resp.headers.append(("x-amz-request-id", rid))
                    return resp
            query = parse_query(req.query)
            ctx = holder[0] = Ctx(req, self.store, self.ns, self.gateway, self.settings, rid, query)
            ctx.bucket, ctx.key = self._address(req)
            level = "service" if ctx.bucket is None else "bucket" if ctx.key is None else "object"
            op = routes.match(req.method, level, query, req.headers)
            ctx.operation = op or ""
            a: auth.Auth | None
            if op in routes.PREFLIGHT:
                a = None  # a CORS preflight carries no credentials: the bucket's CORS rules answer it
            elif auth_v2.applies(req.headers, query):
                a = auth_v2.verify(req.method, self._v2_resource(req, ctx.bucket), req.headers, query, self.secrets)
            else:
                a = auth.verify(req.method, req.path, req.query, req.headers, query, self.secrets, self.settings.region)
            if a is not None:
                ctx.auth = a
                ctx.user = self.users[a.access_key]
            authorize.authorize_request(ctx)
            if ctx.key is not None and len(ctx.key.encode()) > MAX_KEY:
                raise S3Error("KeyTooLongError", extra={"Size": str(len(ctx.key.encode())), "MaxSizeAllowed": "1024"})
            if op in NEW_KEY and ctx.key is not None and not carries(ctx.key):
                raise S3Error("InvalidArgument", "Object key contains a character XML 1.0 cannot carry.")
            if op is None:
                raise S3Error("MethodNotAllowed", extra={"Method": req.method, "ResourceType": level.upper()})
            if ctx.bucket is not None and op != "CreateBucket":
                await self.ns.discover_bucket(ctx.bucket)
            handler = HANDLERS.get(op)
            if handler is None:
                raise S3Error("NotImplemented", f"{op} is not implemented by s3d.", resource=ctx.resource)
            surface.check(op, req.headers, query)
            surface.check_owners(op, req.headers, ctx.bucket, self._owner_of)
            if op in WRITES and ctx.auth is not None:
                reservation = await self.ns.reserve_write(declared_size(req.headers, ctx.auth))
                try:
                    resp = await handler(ctx)
                finally:
                    await self.ns.release_write(reservation)
            else:
                resp = await handler(ctx)
            resp.headers.extend(ctx.extra_headers)
        except (S3Error, StoreError) as e:
            err = to_s3(e) if isinstance(e, StoreError) else e
            if ctx is not None:
                err = authorize.hide_missing(ctx, err)
            resp = error_response(err, rid, ctx.resource if ctx else req.path, req.method)
        except Exception as e:  # noqa: BLE001 - a bug: answered, logged and counted as the request's 500
            resp = self.on_error(e, rid)
        else:
            resp.headers.append(("x-amz-request-id", rid))
        origin = req.headers.get("origin")
        if origin and ctx is not None and ctx.bucket and req.method != "OPTIONS":
            resp.headers.extend(cors.response_headers(self.store.get_bucket(ctx.bucket), origin, req.method))
        return resp
