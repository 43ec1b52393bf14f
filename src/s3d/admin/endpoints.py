"""The daemon's own endpoints under /_s3d/: health and readiness (open); status, queue, flush (signed)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from s3d.gateway import state as gw
from s3d.s3 import auth
from s3d.s3.context import Ctx
from s3d.s3.errors import S3Error
from s3d.server.http import Response

FLUSH_TIMEOUT = 300.0


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(data, indent=1).encode() + b"\n")


def require_user(ctx: Ctx) -> None:
    secrets = ctx.settings.secrets()
    a = auth.verify(
        ctx.req.method, ctx.req.path, ctx.req.query, ctx.req.headers, ctx.query, secrets, ctx.settings.region
    )
    if a is None:
        raise S3Error("AccessDenied", "The s3d admin API needs a SigV4-signed request")
    ctx.auth = a


async def health(ctx: Ctx) -> Response:
    return json_response({"status": "ok"})


def remote_health(ctx: Ctx) -> dict[str, Any]:
    conn = ctx.store.reader
    reachable = gw.get(conn, "remote_reachable")
    down_since = gw.get(conn, "remote_down_since")
    return {
        "remote": ctx.settings.gateway.remote.url,
        "remote_reachable": None if reachable is None else bool(reachable),
        "remote_error": gw.get(conn, "remote_error"),
        "remote_down_since": down_since,
        "remote_down_for_s": round(time.time() - down_since, 1) if down_since else None,
    }


async def ready(ctx: Ctx) -> Response:
    body: dict[str, Any] = {"ready": True, "store": "open"}
    if ctx.settings.gateway is not None:
        body.update(remote_health(ctx))  # local service continues while the remote is down: still ready
    return json_response(body)


def gateway_status(ctx: Ctx) -> dict[str, Any]:
    conn = ctx.store.reader
    out: dict[str, Any] = {"hwm": gw.hwm(conn), **gw.queue_summary(conn), **remote_health(ctx)}
    out.update(ctx.store.cache_status())  # type: ignore[attr-defined]
    cache = ctx.store.cache  # type: ignore[attr-defined]
    out.update({"cache_hits": cache.hits, "cache_misses": cache.misses, "cache_evictions": ctx.store.evictions})  # type: ignore[attr-defined]
    out["capacity_bytes"] = ctx.settings.gateway.capacity
    return out


async def status(ctx: Ctx) -> Response:
    require_user(ctx)
    body = ctx.store.status()
    if ctx.settings.gateway is None:
        body.update({"mode": "local", "hwm": None, "pending_records": 0, "pending_bytes": 0,
                     "oldest_pending_age_s": 0.0, "remote_reachable": None, "failed_records": 0})  # fmt: skip
        return json_response(body)
    body["mode"] = "gateway"
    body.update(gateway_status(ctx))
    for b in body["buckets"]:
        b.update(gw.queue_summary(ctx.store.reader, b["name"]))
    return json_response(body)


async def queue(ctx: Ctx) -> Response:
    require_user(ctx)
    if ctx.settings.gateway is None:
        raise S3Error("InvalidRequest", "s3d runs without a remote: there is no upload queue")
    conn = ctx.store.reader
    return json_response({**gateway_status(ctx), "failed": gw.failures(conn), "notes": gw.notes(conn)})


async def flush(ctx: Ctx) -> Response:
    """Block until everything up to the current LSN (of one bucket, if given) is shipped, or time out."""
    require_user(ctx)
    if ctx.settings.gateway is None:
        raise S3Error("InvalidRequest", "s3d runs without a remote: nothing to flush")
    try:
        timeout = min(float(ctx.query.get("timeout", FLUSH_TIMEOUT)), 3600.0)
    except ValueError:
        raise S3Error("InvalidArgument", "timeout must be a number of seconds") from None
    bucket = ctx.query.get("bucket") or None
    conn = ctx.store.reader
    target = gw.current_lsn(conn)
    deadline = time.monotonic() + timeout
    while True:
        if bucket is None:
            done = gw.hwm(conn) >= target
        else:  # the journal holds exactly the unapplied records
            done = (
                conn.execute("SELECT 1 FROM journal WHERE bucket=? AND lsn<=? LIMIT 1", (bucket, target)).fetchone()
                is None
            )
        if done or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.05)
    body = {"flushed": done, "target_lsn": target, **gateway_status(ctx)}
    return json_response(body, 200 if done else 504)


async def discard(ctx: Ctx) -> Response:
    """The explicit admin command that gives up on shipping one failed key (it stays local)."""
    require_user(ctx)
    bucket, key = ctx.query.get("bucket"), ctx.query.get("key")
    if not bucket or key is None:
        raise S3Error("InvalidArgument", "bucket and key are required")
    kb = key.encode()

    def op(conn: Any) -> int:
        row = conn.execute("SELECT version FROM objects WHERE bucket=? AND key=?", (bucket, kb)).fetchone()
        cur = conn.execute(
            "UPDATE ship_state SET error=NULL, version=?, remote_etag='discarded', note='discarded by admin' "
            "WHERE bucket=? AND key=? AND error IS NOT NULL",
            (row[0] if row else 0, bucket, kb),
        )
        return int(cur.rowcount)

    n = await ctx.store.committer.run(op)
    if not n:
        raise S3Error("NoSuchKey", "no failed record for that key")
    return json_response({"discarded": f"{bucket}/{key}"})


async def _cache_call(ctx: Ctx, pin: bool) -> Response:
    require_user(ctx)
    if ctx.settings.gateway is None:
        raise S3Error("InvalidRequest", "s3d runs without a remote: there is no read cache")
    bucket = ctx.query.get("bucket")
    if not bucket:
        raise S3Error("InvalidArgument", "bucket is required")
    if ctx.store.get_bucket(bucket) is None:
        raise S3Error("NoSuchBucket", extra={"BucketName": bucket})
    prefix = ctx.query.get("prefix", "").encode()
    store = ctx.store
    result = await (store.pin(bucket, prefix) if pin else store.prefetch(bucket, prefix))  # type: ignore[attr-defined]
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
    body, content_type = exposition.render(ctx.store, ctx.settings)
    return Response(200, [("Content-Type", content_type)], body)


OPEN = {("GET", "/_s3d/health"): health, ("GET", "/_s3d/ready"): ready, ("GET", "/metrics"): metrics}
SIGNED = {
    ("GET", "/_s3d/status"): status,
    ("GET", "/_s3d/queue"): queue,
    ("POST", "/_s3d/flush"): flush,
    ("POST", "/_s3d/queue/discard"): discard,
    ("POST", "/_s3d/prefetch"): prefetch,
    ("POST", "/_s3d/pin"): pin,
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
    except S3Error as e:
        return error_response(e, ctx.request_id, ctx.req.path, ctx.req.method)
