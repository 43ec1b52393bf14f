"""Early parts: the parts of a multipart upload still in progress go to the remote while the client sends the
rest, into a remote multipart upload of the same key; when the upload completes, the shipper has little more than
the Complete left to send.

Nothing shows on the remote before the shipper ships the completed object: a remote multipart upload holds no
object until it is completed, and only the shipper completes one, through its usual path (in LSN order, with its
conditional writes). So early parts change how soon an object is on the remote, never what is there. The shipper
takes the early upload of the upload its object came from when key, metadata and tags match; it keeps the parts
sent early from the very blobs it ships and sends the others into the same remote upload (over any other bytes
sent early under their numbers). An early upload it does not take is aborted on the remote: at once when
the local upload is aborted, after ``UNCLAIMED_GRACE`` when it completed but its object was never shipped as such
(it was replaced first, or held back). Uploads are kept in memory only: after a crash an early upload is left
incomplete on the remote (invisible; a remote lifecycle rule AbortIncompleteMultipartUpload removes such uploads).

Parts of one number are sent one after the other, and a part request of unknown outcome spoils the early upload
(it could still land over a later part), so a remote part always holds the last bytes sent for its number.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from s3d.gateway.pieces import blob_piece
from s3d.remote import Remote, RemoteError
from s3d.store import multipart, uploads
from s3d.store.blobs import BlobStore
from s3d.store.objects import Object
from s3d.store.uploads import NewPart, StoredPart, Upload

log = logging.getLogger("s3d.shipper")

PARTS_IN_FLIGHT = 8  # early part requests at once (the shipper's own requests are bounded apart)
SCAN_LIMIT = 1000  # parts read per look at the parts table
SWEEP_EVERY = 1.0  # seconds between checks for early uploads whose local upload is gone
UNCLAIMED_GRACE = 120.0  # seconds a completed upload's early upload waits for the shipper to take it
ABORT_ON_STOP = 5.0  # seconds spent aborting unclaimed early uploads when the shipper stops
NOT_OBJECT_META = ("tags", "checksum_algorithm", "checksum_type", "x-amz-storage-class")  # kept apart from meta


def object_meta(upload: Upload) -> dict[str, Any]:
    """The metadata the completed object will ship with (as the shipper sends it)."""
    return {k: v for k, v in upload.meta.items() if k not in NOT_OBJECT_META}


def object_tags(upload: Upload) -> list[tuple[str, str]] | None:
    tags = upload.meta.get("tags")
    return [(t[0], t[1]) for t in tags] if tags else None


@dataclass(slots=True)
class EarlyUpload:
    bucket: str
    key: bytes
    local_id: str
    meta: dict[str, Any]
    tags: list[tuple[str, str]] | None
    created: asyncio.Task[str]  # the remote upload id
    parts: dict[int, tuple[str, str]] = field(default_factory=dict)  # number -> (local blob, remote ETag)
    sending: dict[int, asyncio.Task[None]] = field(default_factory=dict)  # the last request per part number
    spoiled: bool = False  # a part request of unknown outcome: never completed, only aborted
    completed_at: float | None = None  # when the local upload was seen completed


@dataclass(slots=True)
class Claim:
    """An early upload the shipper takes over: its remote id and the remote ETags of the parts it can keep."""

    upload_id: str
    etags: dict[int, str]


class EarlyParts:
    def __init__(
        self,
        conn: sqlite3.Connection,
        blobs: BlobStore,
        remote: Remote,
        ensure_bucket: Callable[[str], Awaitable[None]],
        wanted: Callable[[Upload], bool],
    ) -> None:
        self.conn = conn
        self.blobs = blobs
        self.remote = remote
        self.ensure_bucket = ensure_bucket
        self.wanted = wanted  # may this upload's bytes go to the remote before it completes?
        self.seq = 0
        self.uploads: dict[str, EarlyUpload] = {}  # by local upload id
        self.by_blob: dict[str, str] = {}  # part blob -> local upload id
        self.sem = asyncio.Semaphore(PARTS_IN_FLIGHT)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.last_sweep = 0.0
        self.sent_parts = 0
        self.reused_parts = 0

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    # ---------- noticing parts ----------
    def poll(self) -> None:
        """Start sending the parts recorded since the last look; abort early uploads no one will take."""
        for np in uploads.parts_after(self.conn, self.seq, SCAN_LIMIT):
            self.seq = np.seq
            self._noticed(np)
        now = time.monotonic()
        if self.uploads and now - self.last_sweep >= SWEEP_EVERY:
            self.last_sweep = now
            self._sweep(now)

    def _noticed(self, np: NewPart) -> None:
        up = self.uploads.get(np.upload.upload_id)
        if up is None:
            if not self.wanted(np.upload):
                return
            u = np.upload
            up = EarlyUpload(u.bucket, u.key, u.upload_id, object_meta(u), object_tags(u), self._spawn(self._create(u)))
            self.uploads[u.upload_id] = up
        self.by_blob[np.part.blob] = up.local_id
        before = up.sending.get(np.part.number)
        up.sending[np.part.number] = self._spawn(self._send(up, np.part, before))

    async def _create(self, u: Upload) -> str:
        await self.ensure_bucket(u.bucket)
        meta = object_meta(u)
        return await self.remote.create_multipart(u.bucket, u.key.decode(), meta, object_tags(u))

    async def _send(self, up: EarlyUpload, p: StoredPart, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)  # one request per part number at a time
        try:
            upload_id = await up.created
        except RemoteError:
            return  # no early upload: the shipper sends every part itself
        if up.spoiled:
            return
        async with self.sem:
            try:
                piece = blob_piece(self.blobs, p.blob, p.size)
                etag = await self.remote.upload_part(
                    up.bucket, up.key.decode(), upload_id, p.number, [piece], md5=p.etag
                )
            except RemoteError as e:
                up.parts.pop(p.number, None)
                if e.ambiguous:
                    up.spoiled = True
                return
            except FileNotFoundError:
                return  # the part was replaced or the upload aborted meanwhile
        up.parts[p.number] = (p.blob, etag)
        self.sent_parts += 1

    # ---------- the shipper takes one ----------
    async def claim(self, obj: Object, meta: dict[str, Any]) -> Claim | None:
        """The early upload of this completed object, if it matches it; the caller completes or aborts it."""
        if not obj.parts:
            return None
        local_id = self._upload_of(obj)
        up = self._forget(local_id) if local_id is not None else None
        if up is None:
            return None
        if up.sending:
            await asyncio.gather(*up.sending.values(), return_exceptions=True)
        try:
            upload_id = await up.created
        except RemoteError:
            return None
        if up.spoiled or up.bucket != obj.bucket or up.key != obj.key or up.meta != meta or up.tags != obj.tags:
            self._spawn(self._abort(up))
            return None
        etags = {p.number: up.parts[p.number][1] for p in obj.parts if up.parts.get(p.number, ("", ""))[0] == p.blob}
        self.reused_parts += len(etags)
        return Claim(upload_id, etags)

    def _upload_of(self, obj: Object) -> str | None:
        """The local upload an object was completed from: known by one of its parts' blobs, or else (its last
        parts completed before they were noticed) the one finished upload of its key that has an early upload."""
        for p in obj.parts or []:
            local_id = self.by_blob.get(p.blob)
            if local_id is not None:
                return local_id
        same_key = [i for i, up in self.uploads.items() if up.bucket == obj.bucket and up.key == obj.key]
        still_open = uploads.open_ids(self.conn, same_key)
        finished = [i for i in same_key if i not in still_open]
        return finished[0] if len(finished) == 1 else None

    def _forget(self, local_id: str) -> EarlyUpload | None:
        up = self.uploads.pop(local_id, None)
        if up is not None:
            for blob in [b for b, lid in self.by_blob.items() if lid == local_id]:
                del self.by_blob[blob]
        return up

    # ---------- giving up ----------
    def _sweep(self, now: float) -> None:
        ids = list(self.uploads)
        still_open = uploads.open_ids(self.conn, ids)
        gone = [i for i in ids if i not in still_open]
        completed = multipart.completed_ids(self.conn, gone)
        for local_id in ids:
            up = self.uploads[local_id]
            if local_id in still_open and not up.spoiled:
                continue
            if local_id in completed and not up.spoiled:
                up.completed_at = up.completed_at or now
                if now - up.completed_at < UNCLAIMED_GRACE:
                    continue  # the shipper should take it soon
            forgotten = self._forget(local_id)
            if forgotten is not None:
                self._spawn(self._abort(forgotten))

    async def _abort(self, up: EarlyUpload) -> None:
        if up.sending:
            await asyncio.gather(*up.sending.values(), return_exceptions=True)
        try:
            upload_id = await up.created
            await self.remote.abort_multipart(up.bucket, up.key.decode(), upload_id)
        except RemoteError as e:
            log.info("%s/%s: early upload not aborted on the remote: %s", up.bucket, up.key.decode(errors="replace"), e)

    async def stop(self) -> None:
        """Abort what no one will take (bounded in time); in-flight requests are cancelled."""
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        pending = [up for up in self.uploads.values() if up.created.done() and not up.created.cancelled()]
        self.uploads.clear()
        self.by_blob.clear()
        if pending:
            try:
                await asyncio.wait_for(asyncio.gather(*(self._abort(up) for up in pending)), ABORT_ON_STOP)
            except TimeoutError:
                pass
