"""The daemon's own endpoints under /_s3d/: health and readiness (open); status, queue, flush (signed)."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from typing import Any

from s3d.admin import gauges
from s3d.admin.common import json_response
from s3d.admin.filter_why import filter_why
from s3d.admin.mount_status import mount_status
from s3d.admin.scope import Scope, caller_scope
from s3d.admin.sync_status import sync_status
from s3d.gateway.namespace import GatewayNamespace
from s3d.gateway.status import queue_summary, remote_health
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.s3.store_errors import to_s3
from s3d.server.http import Response
from s3d.store import journal, objects, ship_state, state
from s3d.store.errors import StoreError

FLUSH_TIMEOUT = 300.0
MAX_FLUSH_TIMEOUT = 3600.0  # a longer flush ties up a connection for too long: the caller asks again
# what the open /_s3d/ready tells anyone of the remote: whether it answers, never where it is or what it said
OPEN_REMOTE_HEALTH = (
    "remote_reachable", "remote_down_since", "remote_down_for_s", "remote_conditional_writes", "remote_refreshed_at"
)  # fmt: skip
# a published remote error is "CODE: message" ("403 AccessDenied: ..."); the message may name any user's bucket
# (botocore's "Could not connect to the endpoint URL: .../bucket"): a caller who is not an admin gets the code
ERROR_MESSAGE_SEPARATOR = ": "


async def health(ctx: Ctx) -> Response:
    return json_response({"status": "ok"})


def _gateway(ctx: Ctx, missing: str) -> GatewayNamespace:
    """The gateway's parts; InvalidRequest saying what is ``missing`` in local mode."""
    if ctx.gateway is None:
        raise S3Error("InvalidRequest", f"s3d runs without a remote: {missing}")
    return ctx.gateway


def _remote_health(ctx: Ctx, scope: Scope | None) -> dict[str, Any]:
    """The remote's health as ``scope`` may see it (None: an unauthenticated caller)."""
    assert ctx.settings.gateway is not None
    health = remote_health(ctx.store.reader, ctx.settings.gateway.remote.url)
    if scope is None:
        return {k: health[k] for k in OPEN_REMOTE_HEALTH}
    if not scope.everything and health["remote_error"]:
        health["remote_error"] = str(health["remote_error"]).split(ERROR_MESSAGE_SEPARATOR, 1)[0]
    return health


async def ready(ctx: Ctx) -> Response:
    body: dict[str, Any] = {"ready": True, "store": "open"}
    if ctx.settings.gateway is not None:
        body.update(_remote_health(ctx, None))  # local service continues while the remote is down: still ready
    return json_response(body)


def scoped_summary(ctx: Ctx, scope: Scope) -> dict[str, Any]:
    """The queue summary (lag, failed records) over the buckets the caller reaches."""
    conn = ctx.store.reader
    reached = scope.buckets()
    if reached is None:
        return queue_summary(conn)
    per = [queue_summary(conn, b) for b in sorted(reached)]
    return {
        "pending_records": sum(p["pending_records"] for p in per),
        "pending_bytes": sum(p["pending_bytes"] for p in per),
        "oldest_pending_age_s": max((p["oldest_pending_age_s"] for p in per), default=0.0),
        "failed_records": sum(p["failed_records"] for p in per),
    }


def gateway_status(ctx: Ctx, scope: Scope) -> dict[str, Any]:
    gateway = _gateway(ctx, "there is no upload queue")
    assert ctx.settings.gateway is not None
    conn = ctx.store.reader
    out: dict[str, Any] = {"hwm": state.hwm(conn), **scoped_summary(ctx, scope), **_remote_health(ctx, scope)}
    out.update(gateway.cache_status())
    out["capacity_bytes"] = ctx.settings.gateway.capacity
    out.update(ship_state.held_summary(conn))
    return out


async def status(ctx: Ctx) -> Response:
    scope = caller_scope(ctx)
    body = ctx.store.status(scope.owner)
    if ctx.settings.gateway is None:
        body.update({"mode": "local", "hwm": None, "pending_records": 0, "pending_bytes": 0,
                     "oldest_pending_age_s": 0.0, "remote_reachable": None, "failed_records": 0})  # fmt: skip
        return json_response(body)
    body["mode"] = "gateway"
    body.update(gateway_status(ctx, scope))
    for b in body["buckets"]:
        b.update(queue_summary(ctx.store.reader, b["name"]))
    return json_response(body)


async def queue(ctx: Ctx) -> Response:
    scope = caller_scope(ctx)
    _gateway(ctx, "there is no upload queue")
    conn = ctx.store.reader
    reached = scope.buckets()
    failed, notes = ship_state.failures(conn, buckets=reached), ship_state.notes(conn, buckets=reached)
    return json_response({**gateway_status(ctx, scope), "failed": failed, "notes": notes})


def flush_timeout(value: str | None) -> float:
    """?timeout= of a flush: seconds, from 0 to MAX_FLUSH_TIMEOUT (nan, infinities and the rest are refused)."""
    if value is None:
        return FLUSH_TIMEOUT
    try:
        timeout = float(value)
    except ValueError:
        timeout = math.nan
    if not 0 <= timeout <= MAX_FLUSH_TIMEOUT:  # false for nan too
        raise S3Error("InvalidArgument", f"timeout must be a number of seconds from 0 to {MAX_FLUSH_TIMEOUT:g}")
    return timeout


async def flush(ctx: Ctx) -> Response:
    """Block until everything up to the current LSN (of one bucket, if given) is shipped, or time out."""
    scope = caller_scope(ctx)
    _gateway(ctx, "nothing to flush")
    timeout = flush_timeout(ctx.query.get("timeout"))
    bucket = ctx.query.get("bucket") or None
    if bucket is not None:
        scope.need_bucket(bucket)
    buckets = {bucket} if bucket is not None else scope.buckets()
    conn = ctx.store.reader
    target = journal.current_lsn(conn)
    deadline = time.monotonic() + timeout
    while True:
        if buckets is None:
            done = state.hwm(conn) >= target
        else:  # the journal holds exactly the unapplied records
            done = not any(journal.pending_through(conn, b, target) for b in buckets)
        if done or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.05)
    body = {"flushed": done, "target_lsn": target, **gateway_status(ctx, scope)}
    return json_response(body, 200 if done else 504)


def _queued_key(ctx: Ctx) -> tuple[str, str]:
    """The ?bucket=&key= of a queue command, in one of the caller's buckets (gateway mode only)."""
    scope = caller_scope(ctx)
    _gateway(ctx, "there is no upload queue")
    bucket, key = ctx.query.get("bucket"), ctx.query.get("key")
    if not bucket or key is None:
        raise S3Error("InvalidArgument", "bucket and key are required")
    scope.need_bucket(bucket)
    return bucket, key


async def discard(ctx: Ctx) -> Response:
    """The explicit admin command that gives up on shipping one failed key (it stays local)."""
    bucket, key = _queued_key(ctx)
    kb = key.encode()

    def op(conn: sqlite3.Connection) -> bool:
        obj = objects.get(conn, bucket, kb)
        if not ship_state.discard(conn, bucket, kb, obj.version if obj else objects.REMOTE_VERSION):
            return False
        journal.append(conn, journal.Op.RETRY, bucket, kb)  # wakes the shipper's slow retry of the key
        return True

    n = await ctx.store.committer.run(op)
    if not n:
        raise S3Error("NoSuchKey", "no failed record for that key")
    return json_response({"discarded": f"{bucket}/{key}"})


async def retry(ctx: Ctx) -> Response:
    """Try a failed key again now instead of at its next slow retry."""
    bucket, key = _queued_key(ctx)
    kb = key.encode()

    def op(conn: sqlite3.Connection) -> bool:
        if not any(f["bucket"] == bucket and f["key"] == key for f in ship_state.failures(conn, buckets={bucket})):
            return False
        journal.append(conn, journal.Op.RETRY, bucket, kb)
        return True

    if not await ctx.store.committer.run(op):
        raise S3Error("NoSuchKey", "no failed record for that key")
    return json_response({"retrying": f"{bucket}/{key}"})


async def _cache_call(ctx: Ctx, pin: bool) -> Response:
    scope = caller_scope(ctx)
    gateway = _gateway(ctx, "there is no read cache")
    bucket = ctx.query.get("bucket")
    if not bucket:
        raise S3Error("InvalidArgument", "bucket is required")
    scope.need_bucket(bucket)
    prefix = ctx.query.get("prefix", "").encode()
    result = await (gateway.pin(bucket, prefix) if pin else gateway.prefetch(bucket, prefix))
    return json_response(result)


async def prefetch(ctx: Ctx) -> Response:
    """Warm the read cache with a bucket or prefix; answers when done or stopped at the capacity bound."""
    return await _cache_call(ctx, pin=False)


async def pin(ctx: Ctx) -> Response:
    """Keep a bucket or prefix local (never evicted); fetches what is only on the remote."""
    return await _cache_call(ctx, pin=True)


async def metrics(ctx: Ctx) -> Response:
    """Prometheus text format (s3d.observe.exposition); open unless S3D_METRICS_TOKEN asks for a bearer token."""
    from s3d.observe import exposition

    if not exposition.authorized(ctx.req.headers):
        raise S3Error("AccessDenied", "/metrics needs Authorization: Bearer <S3D_METRICS_TOKEN>")
    body, content_type = exposition.render(lambda: gauges.read(ctx.store, ctx.gateway))
    return Response(200, [("Content-Type", content_type)], body)


OPEN = {("GET", "/_s3d/health"): health, ("GET", "/_s3d/ready"): ready, ("GET", "/metrics"): metrics}
SIGNED = {
    ("GET", "/_s3d/status"): status,
    ("GET", "/_s3d/queue"): queue,
    ("POST", "/_s3d/flush"): flush,
    ("POST", "/_s3d/queue/discard"): discard,
    ("POST", "/_s3d/queue/retry"): retry,
    ("POST", "/_s3d/prefetch"): prefetch,
    ("POST", "/_s3d/pin"): pin,
    ("GET", "/_s3d/filter/why"): filter_why,
    ("GET", "/_s3d/sync"): sync_status,
    ("GET", "/_s3d/mounts"): mount_status,
}


async def handle(ctx: Ctx) -> Response:
    from s3d.s3.app import error_response

    key = (ctx.req.method if ctx.req.method != "HEAD" else "GET", ctx.req.path.rstrip("/"))
    try:
        handler = OPEN.get(key) or SIGNED.get(key)
        if handler is None:
            if any(p == key[1] for _, p in list(OPEN) + list(SIGNED)):
                raise S3Error("MethodNotAllowed")
            raise S3Error("NotImplemented", f"no admin endpoint {key[1]}")
        return await handler(ctx)
    except (S3Error, StoreError) as e:
        err = to_s3(e) if isinstance(e, StoreError) else e
        return error_response(err, ctx.request_id, ctx.req.path, ctx.req.method)
