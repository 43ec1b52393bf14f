"""Remote refresh: bring what others wrote to the remote into the local namespace.

Every ``remote_refresh`` seconds (and at start) the main process lists the remote: buckets missing
here get a local row (an empty data dir pointed at a full remote serves all of it), keys missing
here get a remote-only row, and remote-only rows whose objects vanished are dropped. Local state
wins: a key with unshipped journal records, or shipped after this listing began, is left alone; so is a
row a read-through made (or found newer) while the listing ran.
None of this enters the journal: it is the remote's state, not ours. Writes go through the main
process's committer, like the shipper's.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass, field

from s3d import observe
from s3d.gateway.conditional import PROBE_PREFIX
from s3d.observe import events
from s3d.remote import Remote, RemoteError, RemoteNotFound, RemoteObject
from s3d.store import buckets, journal, objects, ship_state, state
from s3d.store.committer import Committer

log = logging.getLogger("s3d.refresh")


LISTED_MTIME_GRANULARITY = 1.0  # seconds: S3 listings give LastModified in whole seconds


@dataclass(slots=True)
class Refreshed:
    buckets_added: int = 0
    objects_added: int = 0
    objects_removed: int = 0
    repaired: list[tuple[str, bytes]] = field(default_factory=list)  # keys where the remote differed from the log


def _stale(o: RemoteObject, shipped: ship_state.Shipped) -> bool:
    """The remote copy is one of our own older writes (landed late, or never overwritten), not someone else's."""
    if shipped.uncertain_etag is not None and o.etag == shipped.uncertain_etag:
        return True  # a PUT of ours whose outcome was unknown, landed after the log moved on
    # older than our own ship by more than a listing's whole-second granularity: a write another daemon made
    # just after ours, within the same second, is not taken for a stale copy and reverted
    return bool(o.mtime and shipped.shipped_at and o.mtime + LISTED_MTIME_GRANULARITY < shipped.shipped_at)


def _diverged(c: sqlite3.Connection, bucket: str, key: bytes, o: RemoteObject, local_etag: str | None) -> bool:
    """The log says otherwise than the remote about a key it shipped, and the remote copy is not newer than
    the log's own record: the remote drifted (a late write landed) and must be put right."""
    shipped = ship_state.get(c, bucket, key)
    if shipped is None or shipped.held or shipped.shipped_at is None:
        return False
    if local_etag is None:  # the log deleted it
        return shipped.remote_etag is None and shipped.version != objects.REMOTE_VERSION and _stale(o, shipped)
    return shipped.remote_etag is not None and o.etag != shipped.remote_etag and _stale(o, shipped)


def _deleted_by_log(conn: sqlite3.Connection, bucket: str, key: bytes) -> bool:
    """The log deleted this key and shipped the delete (no local row; the remote was told to drop it)."""
    shipped = ship_state.get(conn, bucket, key)
    return (
        shipped is not None
        and shipped.remote_etag is None
        and shipped.shipped_at is not None
        and not shipped.held
        and shipped.version != objects.REMOTE_VERSION
        and objects.etag_of(conn, bucket, key) is None
    )


async def _confirm_deleted(
    conn: sqlite3.Connection, remote: Remote, bucket: str, listed: list[RemoteObject]
) -> dict[bytes, RemoteObject | None]:
    """A listed key that the log deleted is taken as written again only if a HEAD finds it (and then with the
    HEAD's ETag): a listing may show an entry the remote no longer holds (rclone serve s3 can keep one after a
    late PUT raced the DELETE), and importing it would bring back what the log deleted."""
    doubted = [o.key for o in listed if _deleted_by_log(conn, bucket, o.key.encode())]
    heads = await asyncio.gather(*(remote.head_object(bucket, k) for k in doubted))
    return {k.encode(): h for k, h in zip(doubted, heads, strict=True)}


async def refresh(conn: sqlite3.Connection, committer: Committer, remote: Remote, owner: str, region: str) -> Refreshed:
    """``conn`` reads; ``committer`` writes."""
    out = Refreshed()
    started = time.time()
    for rb in await remote.list_buckets():
        name = remote.local_name(rb)
        if not name or journal.has_pending(conn, name):
            continue

        def add(c: sqlite3.Connection, n: str = name) -> bool:
            return buckets.insert(c, n, owner, region)

        out.buckets_added += int(await committer.run(add))
    for b in buckets.all_buckets(conn):
        try:
            await _refresh_bucket(conn, committer, remote, b.name, started, out)
        except RemoteNotFound:
            continue  # not on the remote yet: the shipper creates it
    return out


async def _refresh_bucket(
    conn: sqlite3.Connection, committer: Committer, remote: Remote, bucket: str, started: float, out: Refreshed
) -> None:
    seen: set[bytes] = set()
    token: str | None = None
    while True:
        page = await remote.list_page(bucket, "", token)
        confirmed = await _confirm_deleted(conn, remote, bucket, page.objects)

        def apply(
            c: sqlite3.Connection,
            listed: list[RemoteObject] = page.objects,
            confirmed: dict[bytes, RemoteObject | None] = confirmed,
        ) -> int:
            added = 0
            for o in listed:
                if o.key.startswith(PROBE_PREFIX):
                    continue  # another daemon's conditional-write probe, deleted as soon as it is written
                key = o.key.encode()
                seen.add(key)
                if key in confirmed:
                    head = confirmed[key]
                    if head is None:
                        continue  # listed, but no such object: a listing that lags, or a remote's phantom entry
                    o = head
                if journal.has_pending(c, bucket, key) or ship_state.shipped_since(c, bucket, key, started):
                    continue
                etag = objects.etag_of(c, bucket, key)
                if etag == o.etag:
                    continue
                local = objects.get(c, bucket, key)
                if local is not None and local.is_remote and local.mtime > o.mtime:
                    continue  # a read-through found a newer version after this page was listed
                if _diverged(c, bucket, key, o, None if local is None or local.is_remote else etag):
                    journal.append(c, journal.Op.REPAIR, bucket, key)
                    out.repaired.append((bucket, key))
                    continue
                # a new key gets a remote-only row; a remote-only row is refreshed if the object changed;
                # a row holding local bytes stays as it is
                if (
                    objects.put_remote_only(c, bucket, key, o.size, o.etag, o.mtime, {}, listing_only=True)
                    and etag is None
                ):
                    added += 1
            return added

        out.objects_added += await committer.run(apply)
        token = page.next_token
        if token is None:
            break
    # a row for an object written after this listing began (a read-through made it meanwhile) was not missed
    # by the listing: it could not show yet. Only rows older than the listing's start may be gone.
    listed_from = started - LISTED_MTIME_GRANULARITY
    gone = [k for k in objects.remote_only_keys(conn, bucket, modified_before=listed_from) if k not in seen]
    if gone:

        def drop(c: sqlite3.Connection) -> int:
            return sum(objects.forget_remote_only(c, bucket, k) for k in gone if not journal.has_pending(c, bucket, k))

        out.objects_removed += await committer.run(drop)


async def refresh_loop(
    conn: sqlite3.Connection, committer: Committer, remote: Remote, owner: str, region: str, every: float
) -> None:
    while True:
        try:
            r = await refresh(conn, committer, remote, owner, region)
            await committer.run(lambda c: state.put(c, state.REMOTE_REFRESHED_AT, round(time.time(), 3)))
            for bucket, key in r.repaired:
                observe.get().event(events.SHIP_REPAIR, "warning", bucket=bucket, key=key.decode(errors="replace"))
            if r.buckets_added or r.objects_added or r.objects_removed:
                log.info("remote refresh: %d buckets and %d objects appeared, %d objects vanished",
                         r.buckets_added, r.objects_added, r.objects_removed)  # fmt: skip
        except RemoteError as e:
            log.warning("remote refresh failed: %s", e)
        except sqlite3.Error as e:
            log.warning("remote refresh could not update the namespace: %s", e)
        await asyncio.sleep(every)
