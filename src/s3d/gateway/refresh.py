"""Remote refresh: bring what others wrote to the remote into the local namespace.

Every ``remote_refresh`` seconds (and at start) the main process lists the
remote: buckets missing here get a local row (an empty data dir pointed at a
full remote serves all of it), keys missing here get a remote-only row, and
remote-only rows whose objects vanished are dropped. Local state wins: a key
with unshipped journal records, or shipped after this listing began, is left
alone. None of this enters the journal: it is the remote's state, not ours.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass

from s3d.gateway.namespace import remote_only_row
from s3d.remote import RemoteError, RemoteNotFound
from s3d.remote.botocore_remote import BotocoreRemote

log = logging.getLogger("s3d.refresh")


@dataclass(slots=True)
class Refreshed:
    buckets_added: int = 0
    objects_added: int = 0
    objects_removed: int = 0


def _pending(conn: sqlite3.Connection, bucket: str, key: bytes | None) -> bool:
    if key is None:
        sql, args = "SELECT 1 FROM journal WHERE bucket=? LIMIT 1", (bucket,)
    else:
        sql, args = "SELECT 1 FROM journal WHERE bucket=? AND key=? LIMIT 1", (bucket, key)  # type: ignore[assignment]
    return conn.execute(sql, args).fetchone() is not None


def _shipped_since(conn: sqlite3.Connection, bucket: str, key: bytes, since: float) -> bool:
    row = conn.execute("SELECT shipped_at FROM ship_state WHERE bucket=? AND key=?", (bucket, key)).fetchone()
    return bool(row and row[0] and row[0] >= since)


def _local_name(remote: BotocoreRemote, remote_bucket: str) -> str | None:
    s = remote.settings
    for local, mapped in s.bucket_map.items():
        if mapped == remote_bucket:
            return local
    if s.bucket_prefix:
        return remote_bucket[len(s.bucket_prefix) :] if remote_bucket.startswith(s.bucket_prefix) else None
    return remote_bucket


async def refresh(conn: sqlite3.Connection, remote: BotocoreRemote, owner: str, region: str) -> Refreshed:
    out = Refreshed()
    started = time.time()
    for rb in await remote.list_buckets():
        name = _local_name(remote, rb)
        if not name or _pending(conn, name, None):
            continue
        with conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO buckets (name, owner, created, region) VALUES (?, ?, ?, ?)",
                (name, owner, time.time(), region),
            )
            out.buckets_added += cur.rowcount
    for (bucket,) in conn.execute("SELECT name FROM buckets").fetchall():
        try:
            await _refresh_bucket(conn, remote, bucket, started, out)
        except RemoteNotFound:
            continue  # not on the remote yet: the shipper creates it
    return out


async def _refresh_bucket(
    conn: sqlite3.Connection, remote: BotocoreRemote, bucket: str, started: float, out: Refreshed
) -> None:
    seen: set[bytes] = set()
    token: str | None = None
    while True:
        page = await remote.list_page(bucket, "", token)
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            for o in page.objects:
                key = o.key.encode()
                seen.add(key)
                if _pending(conn, bucket, key) or _shipped_since(conn, bucket, key, started):
                    continue
                row = conn.execute("SELECT etag FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
                if row is not None:
                    # a local row stays as it is; a remote-only one is refreshed only if the object changed
                    if row[0] == o.etag:
                        continue
                    conn.execute(
                        'UPDATE objects SET size=?, etag=?, mtime=?, meta=\'{"x-s3d-listing-only": "1"}\' '
                        "WHERE bucket=? AND key=? AND data IS NULL AND blob IS NULL AND parts IS NULL",
                        (o.size, o.etag, o.mtime, bucket, key),
                    )
                    continue
                conn.execute(
                    "INSERT INTO objects (bucket, key, size, etag, mtime, version, meta, checksum, tags, blob, parts, data) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    remote_only_row(bucket, key, o, listing_only=True),
                )
                out.objects_added += 1
        token = page.next_token
        if token is None:
            break
    gone = [
        k
        for (k,) in conn.execute(
            "SELECT key FROM objects WHERE bucket=? AND data IS NULL AND blob IS NULL AND parts IS NULL", (bucket,)
        )
        if k not in seen
    ]
    if gone:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            for k in gone:
                if not _pending(conn, bucket, k):
                    conn.execute(
                        "DELETE FROM objects WHERE bucket=? AND key=? AND data IS NULL AND blob IS NULL AND parts IS NULL",
                        (bucket, k),
                    )
                    out.objects_removed += 1


async def refresh_loop(conn: sqlite3.Connection, remote: BotocoreRemote, owner: str, region: str, every: float) -> None:
    import asyncio

    while True:
        try:
            r = await refresh(conn, remote, owner, region)
            if r.buckets_added or r.objects_added or r.objects_removed:
                log.info("remote refresh: %d buckets and %d objects appeared, %d objects vanished",
                         r.buckets_added, r.objects_added, r.objects_removed)  # fmt: skip
        except RemoteError as e:
            log.warning("remote refresh failed: %s", e)
        except sqlite3.Error as e:
            log.warning("remote refresh could not update the namespace: %s", e)
        await asyncio.sleep(every)
