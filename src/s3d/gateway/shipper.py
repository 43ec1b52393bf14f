"""The shipper: applies the local journal to the remote S3, in LSN order per key, in parallel across keys.

One shipper runs per data dir (in the daemon's main process). It reads
journal records above its cursor, collapses each key's records into "make the
remote match the current local state of this key" (so superseded versions are
skipped), runs those per-key tasks concurrently, and advances the high-water
mark over the contiguous prefix of applied records:

    HWM <= LSN;  HWM never decreases;  every record <= HWM is applied remotely.

Retryable failures (remote down, 5xx, timeouts) back off exponentially with
jitter, capped. Permanent ones (403, 400...) are recorded on the key
(``ship_state.error``), visible in status and /_s3d/queue, and retried on a
slow schedule; nothing is dropped. A key held back by the tag
``s3d.upload=false`` counts as applied (by policy) and is noted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s3d import observe
from s3d.crypto.envelope import SSE_C, SSE_S3, Envelope, open_key
from s3d.crypto.keys import Keyring
from s3d.crypto.segments import decrypt_inline
from s3d.filters import gateway as filters
from s3d.filters.evaluate import Filter
from s3d.gateway.conditional import honours_conditional_writes
from s3d.gateway.config import CONFLICT_KEEP_BOTH, CONFLICT_LAST_WRITER_WINS
from s3d.gateway.early_parts import EarlyParts
from s3d.gateway.pieces import blob_piece
from s3d.observe import events
from s3d.remote import NO_ANSWER, Piece, Remote, RemoteError, RemoteNotFound, RemoteObject
from s3d.store import buckets, cache_index, db, journal, objects, ship_state, state
from s3d.store.blobs import BlobDir, BlobStore
from s3d.store.committer import Committer
from s3d.store.journal import BUCKET_OPS, Record
from s3d.store.objects import Object, Part
from s3d.store.uploads import Upload

log = logging.getLogger("s3d.shipper")

SSE_META = "x-s3d-sse"  # an encrypted object's envelope in its metadata (see s3/handlers/sse.py)
SSE_C_NOTE = "held: SSE-C object (encrypted with the customer's key, which s3d never keeps: it stays local)"
BATCH = 1000
WINDOW = 20000  # at most this many records dispatched above HWM
POLL = 0.05
BACKOFF_BASE = 0.25
BACKOFF_CAP = 30.0
SLOW_RETRY = 60.0
SLOW_RETRY_CAP = 900.0
PART_CONCURRENCY = 8  # parts of one multipart object in flight at once
REPLACED_RETRY = 0.01  # seconds before shipping the version that replaced one being shipped
ERROR_TEXT = 500  # characters of a remote error kept in status
PRECONDITION_FAILED = 412
NO_SUCH_BUCKET = "NoSuchBucket"


def _also(note: str | None) -> str:
    return f"; {note}" if note else ""


@dataclass(slots=True)
class KeyTask:
    bucket: str
    key: bytes
    lsns: list[int] = field(default_factory=list)  # records covered by the current attempt
    ops: set[str] = field(default_factory=set)
    next_lsns: list[int] = field(default_factory=list)  # records that arrived while it ran
    next_ops: set[str] = field(default_factory=set)
    gate: asyncio.Task[None] | None = None  # a bucket record of this bucket that must be applied first
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # new records: stop waiting out a retry delay
    uncertain: bool = False  # a request of unknown outcome may still land: check the remote before done
    force: bool = False  # the remote was seen to differ from the log: apply even what ship_state says is there
    task: asyncio.Task[None] | None = None

    def take_next(self) -> None:
        self.lsns += self.next_lsns
        self.ops |= self.next_ops
        self.next_lsns, self.next_ops = [], set()

    async def wait(self, seconds: float) -> None:
        """Sleep, unless new records for this key arrive first."""
        self.wake.clear()
        try:
            await asyncio.wait_for(self.wake.wait(), seconds)
        except TimeoutError:
            pass


def _conflicted(e: RemoteError, if_match: str | None) -> bool:
    """Did a conditional write fail because another writer moved the key? A 412, or (AWS, moto) a 404 NoSuchKey to
    ``If-Match``: the key this daemon last saw there was deleted since. ``if_match`` only on a remote that honours
    conditional writes: a 404 from one that ignores them (rclone) answers no condition (taking it for a conflict
    there broke the repair of late writes after a hung rclone, tests/gateway/test_shipping.py)."""
    return e.status == PRECONDITION_FAILED or (if_match is not None and e.status == 404 and e.code == "NoSuchKey")


def throttled(e: RemoteError) -> bool:
    """A remote-wide condition (slow down, unavailable): retried, and failed only after a long time."""
    return e.status in (429, 503) or e.code in ("SlowDown", "ServiceUnavailable", "Throttling")


def lacks_feature(e: RemoteError) -> bool:
    """The remote answered (so it is up) but will not do this: retrying soon will not help."""
    return e.status in (400, 403, 405, 500, 501) or e.code in ("NotImplemented", "MethodNotAllowed")


def backoff(attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Capped exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2**attempt))


class Shipper:
    def __init__(
        self,
        root: Path,
        remote: Remote,
        concurrency: int = 8,
        upload_filter: Filter | None = None,
        max_attempts: int = 5,
        fail_after: float = 300.0,
        settle: float = 2.0,
        conflict: str = CONFLICT_LAST_WRITER_WINS,
        blobs: Callable[[Path], BlobStore] = BlobDir,
        mirrors: Sequence[Path] = (),
    ) -> None:
        """``blobs`` and ``mirrors``: the store's own (daemon.py): where blobs live, and the metadata's mirrors."""
        self.root = root
        self.conflict = conflict
        self.conflicts = 0
        self.conditional_writes: bool | None = None  # does the remote honour If-Match / If-None-Match (probed)
        self.max_attempts = max_attempts
        self.fail_after = fail_after
        self.settle = settle
        self.repairs = 0  # keys found to differ from the log after the fact, and put right
        self.upload_filter = upload_filter
        self.conn = db.connect(str(root / "meta.db"))  # reads only; every write goes through the committer
        # Losing the last few ship_state/HWM updates in a power cut only means shipping those
        # records again (idempotent), so the shipper's writes need not fsync every small update.
        self.committer = Committer(str(root / "meta.db"), synchronous="NORMAL", mirrors=mirrors)
        self.blobs = blobs(root)
        self.remote = remote
        self.sem = asyncio.Semaphore(concurrency)
        self.hwm = state.hwm(self.conn)
        self.cursor = self.hwm  # highest LSN handed out to a task
        self.order: deque[int] = deque()  # dispatched LSNs, ascending
        self.done: set[int] = set()
        self.tasks: dict[tuple[str, bytes], KeyTask] = {}
        self.bucket_gates: dict[str, asyncio.Task[None]] = {}  # the latest bucket record of each bucket
        self.running: set[asyncio.Task[None]] = set()
        self.ensured: set[str] = set()
        self.reachable: bool | None = None
        self.stopping = False
        self.shipped_objects = 0
        self.shipped_bytes = 0
        self.keyring: Keyring | None = None  # decrypts SSE-S3/SSE-KMS objects for shipping
        # parts of multipart uploads in progress go to the remote as they arrive (gateway/early_parts.py)
        self.early = EarlyParts(self.conn, self.blobs, remote, self._bucket_ready, self._ships_early)

    # ---------- the loop ----------
    async def run(self) -> None:
        last_publish = 0.0
        while not self.stopping:
            progressed = await self._dispatch()
            now = time.monotonic()
            if now - last_publish > 0.5:
                self._publish()
                last_publish = now
            if not progressed:
                await asyncio.sleep(POLL)

    async def drain(self, timeout: float) -> bool:
        """Ship until HWM reaches the current LSN or the timeout passes. True if everything is shipped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            target = journal.current_lsn(self.conn)
            if self.hwm >= target:
                return True
            try:
                await asyncio.wait_for(self._dispatch(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            await asyncio.sleep(POLL)
        return self.hwm >= journal.current_lsn(self.conn)

    async def stop(self) -> None:
        self.stopping = True
        for t in list(self.running):
            t.cancel()
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)
        await self.early.stop()
        self._publish()
        self.committer.close()
        self.conn.close()

    async def _dispatch(self) -> bool:
        room = WINDOW - len(self.order)
        if room <= 0:
            return False
        records = journal.pending(self.conn, self.cursor, min(BATCH, room))
        if not self.stopping:
            self.early.poll()
        if not records and not self.order:
            await self._skip_applied_tail()
        for r in records:
            self._track(r.lsn)
            self.cursor = r.lsn
            if r.op in BUCKET_OPS:
                self._dispatch_bucket_op(r)
                continue
            assert r.key is not None
            k = (r.bucket, r.key)
            t = self.tasks.get(k)
            if t is None:
                t = self.tasks[k] = KeyTask(r.bucket, r.key, [r.lsn], {r.op}, gate=self.bucket_gates.get(r.bucket))
                t.force = r.op == journal.Op.REPAIR
                t.task = self._spawn(self._run_key(t))
            else:
                t.next_lsns.append(r.lsn)
                t.next_ops.add(r.op)
                t.force = t.force or r.op == journal.Op.REPAIR
                t.wake.set()
        return bool(records)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return task

    def _dispatch_bucket_op(self, r: Record) -> None:
        """A bucket record waits only for what it depends on: earlier records of the same bucket."""
        if r.op == journal.Op.BUCKET_CONFIG:
            self._spawn(self._mark_done([r.lsn]))  # bucket configuration is not shipped
            return
        before = [t.task for (b, _), t in self.tasks.items() if b == r.bucket and t.task is not None]
        gate = self.bucket_gates.get(r.bucket)
        if gate is not None:
            before.append(gate)
        task = self._spawn(self._run_bucket_op(r, before))
        self.bucket_gates[r.bucket] = task

        def forget(done: asyncio.Task[None], bucket: str = r.bucket) -> None:
            if self.bucket_gates.get(bucket) is done:
                del self.bucket_gates[bucket]

        task.add_done_callback(forget)

    async def _run_bucket_op(self, r: Record, before: list[asyncio.Task[None]]) -> None:
        if before:
            await asyncio.gather(*before, return_exceptions=True)
        await self._bucket_op(r)
        await self._mark_done([r.lsn])

    def _track(self, lsn: int) -> None:
        self.order.append(lsn)

    # ---------- per key ----------
    async def _run_key(self, t: KeyTask) -> None:
        if t.gate is not None:
            await asyncio.gather(t.gate, return_exceptions=True)
        attempt = 0
        failing_since: float | None = None
        while not self.stopping:
            try:
                async with self.sem:
                    await self._apply_key(t)
                    if t.uncertain and not await self._settled(t):
                        t.force = True
                        continue  # the remote differs from the log: apply again
            except RemoteError as e:
                self.remote_failed(e)
                if e.ambiguous and not t.uncertain:
                    t.uncertain = True
                now = time.monotonic()
                failing_since = failing_since or now
                attempt += 1
                delay = self._retry_delay(t, e, attempt, now - failing_since)
                observe.get().event(
                    events.SHIP_RETRY, "warning", bucket=t.bucket, key=t.key.decode(errors="replace"),
                    error_code=e.code, attempt=attempt, retry_in_s=round(delay, 2),
                )  # fmt: skip
                # records that arrived during the attempt (a new write, a retry or discard) are not waited out
                arrived = bool(t.next_lsns)
                t.take_next()
                await t.wait(min(delay, BACKOFF_BASE) if arrived else delay)
                continue
            except FileNotFoundError:
                await asyncio.sleep(REPLACED_RETRY)  # the object was replaced under us: ship the new version
                t.take_next()
                continue
            self.remote_ok()
            attempt, failing_since, t.force = 0, None, False
            await self._mark_done(t.lsns)
            if not t.next_lsns:
                del self.tasks[(t.bucket, t.key)]
                return
            t.lsns, t.ops = t.next_lsns, t.next_ops
            t.next_lsns, t.next_ops = [], set()

    def _retry_delay(self, t: KeyTask, e: RemoteError, attempt: int, failing_for: float) -> float:
        """How long until the next try; a key that keeps failing moves to the failed set (slow retries).

        No answer at all is the remote being down: nothing is the key's fault, so it never fails.
        Throttling fails only after ``fail_after`` seconds; any other answer after ``max_attempts``.
        """
        if e.status == NO_ANSWER:
            return backoff(attempt)
        gave_up = (
            not e.retryable or failing_for >= self.fail_after or (attempt >= self.max_attempts and not throttled(e))
        )
        if not gave_up:
            return backoff(attempt)
        self._record_error(t, e)
        return backoff(attempt, SLOW_RETRY, SLOW_RETRY_CAP) + SLOW_RETRY / 2

    async def _settled(self, t: KeyTask) -> bool:
        """After a request of unknown outcome: once it can no longer land, does the remote match the log?"""
        await asyncio.sleep(self.settle)
        obj = objects.get(self.conn, t.bucket, t.key)
        shipped = ship_state.get(self.conn, t.bucket, t.key)
        want: str | None  # the ETag the remote must hold, or None: it must not hold the key
        if obj is None:
            want = None
        elif obj.is_remote or shipped is None or shipped.held or shipped.remote_etag is None:
            want = ""  # nothing of ours to assert (a remote-only row, or a key kept local)
        else:
            want = shipped.remote_etag
        head = await self.remote.head_object(t.bucket, t.key.decode()) if want != "" else None
        matches = want == "" or (head is None if want is None else head is not None and head.etag == want)
        if not matches:
            self.repairs += 1
            observe.get().event(
                events.SHIP_REPAIR, "warning", bucket=t.bucket, key=t.key.decode(errors="replace"),
                remote_etag=head.etag if head else None,
            )  # fmt: skip
            return False
        t.uncertain = False  # ship_state keeps the uncertain ETag: a copy landing later still gets repaired
        return True

    def _save(
        self,
        bucket: str,
        key: bytes,
        version: int,
        etag: str | None,
        note: str | None = None,
        held: int = ship_state.NOT_HELD,
    ) -> None:
        self.committer.run_sync(lambda c: ship_state.applied(c, bucket, key, version, etag, note, held))

    async def _apply_key(self, t: KeyTask) -> None:
        obj = objects.get(self.conn, t.bucket, t.key)
        shipped = ship_state.get(self.conn, t.bucket, t.key)
        if obj is None:
            newest = max(t.lsns)
            if not t.force and shipped is not None and shipped.version >= newest and shipped.remote_etag is None:
                return  # this delete was applied before a restart
            if shipped is not None and shipped.remote_etag is None and shipped.held:
                self._save(t.bucket, t.key, newest, None)
                return  # held back and never shipped: the remote never had it
            await self._ship_delete(t, shipped, newest)
            return
        if obj.is_remote:
            # known from the remote, no bytes here: only a tag change can be ours to ship
            if "tags" in t.ops:
                await self._ship_tags(obj, obj.etag)
            return
        env = self._envelope(obj)
        if env is not None and env.kind == SSE_C:
            await self._hold_sse_c(t.bucket, t.key, obj.version, shipped)
            return
        hold = filters.upload_hold(self.conn, self.upload_filter, obj)
        if hold is not None:
            version = shipped.version if shipped else objects.REMOTE_VERSION
            etag = shipped.remote_etag if shipped else None
            self._save(t.bucket, t.key, version, etag, hold.note, held=hold.why)
            return
        if not t.force and shipped is not None and shipped.version == obj.version and shipped.remote_etag is not None:
            if "tags" in t.ops:
                await self._ship_tags(obj, shipped.remote_etag)
            return
        await self._ensure_bucket(t.bucket)
        # conflict detection: overwrite only what this daemon last saw there, or create the key only if it is
        # still absent when this daemon saw none (a repair, or a key an admin discarded, writes whatever is there)
        last_seen = None if t.force or shipped is None else shipped.remote_etag
        absent = not t.force and (shipped is None or shipped.remote_etag is None)
        if last_seen == ship_state.DISCARDED:
            last_seen = None
        try:
            etag, note = await self._ship_object(obj, if_match=last_seen, if_absent=absent)
        except RemoteError as e:
            if e.ambiguous:  # this version may still land later: refresh must know it for ours
                self.committer.run_sync(lambda c: ship_state.uncertain(c, t.bucket, t.key, obj.etag))
            if e.code == NO_SUCH_BUCKET:
                # another daemon (or an admin) deleted the bucket on the remote since we created it there; the log
                # holds the bucket and this acknowledged write: create the bucket again on the next attempt
                self.ensured.discard(t.bucket)
                raise RemoteError(e.code, e.message, e.status, retryable=True) from e
            if not _conflicted(e, last_seen if self.conditional_writes else None):
                raise
            resolved = await self._conflict(obj)
            if resolved is None:
                return  # the remote's version was kept
            etag, note = resolved

        # Its records leave the journal with this commit (_mark_done repeats that and moves HWM), so the capacity
        # bound never counts the bytes twice, as dirty and as clean. Not after a request of unknown outcome: until
        # _settled confirms the remote, the records stay, so nothing takes the key for shipped (eviction would
        # drop the only copy of these bytes, a read would trust the remote's ETag).
        lsns = [] if t.uncertain else list(t.lsns)

        def shipped_now(c: sqlite3.Connection) -> None:
            ship_state.applied(c, t.bucket, t.key, obj.version, etag, note)
            journal.applied(c, lsns)
            # its local bytes are now clean: the read cache may evict them when room is needed (while records of
            # the key are still in the journal, eviction only drops this entry, never the bytes)
            cache_index.add_own_bytes(c, t.bucket, t.key, obj.etag, obj.size)
            cache_index.mark_validated(c, t.bucket, t.key, obj.etag, time.time())  # the remote holds it as of now

        await self.committer.run(shipped_now)  # awaited: the shipper's other keys go on meanwhile
        self.shipped_objects += 1
        self.shipped_bytes += obj.size

    async def _ship_delete(self, t: KeyTask, shipped: ship_state.Shipped | None, version: int) -> None:
        """Delete the key on the remote, only as the version this daemon last saw there (If-Match): a delete that
        another writer's newer version overtook on the remote is a conflict, which the policy settles."""
        key = t.key.decode()
        last_seen = None if t.force or shipped is None else shipped.remote_etag
        if last_seen == ship_state.DISCARDED:
            last_seen = None
        note = None
        try:
            await self.remote.delete_object(t.bucket, key, if_match=last_seen)
        except RemoteNotFound:
            pass
        except RemoteError as e:
            if last_seen is None or not (e.status == PRECONDITION_FAILED or lacks_feature(e)):
                raise
            # refused (or conditional deletes refused outright): what does the remote hold?
            head = await self.remote.head_object(t.bucket, key)
            own_late_write = head is not None and shipped is not None and head.etag == shipped.uncertain_etag
            if head is not None and head.etag != last_seen and not own_late_write:
                # (a PUT of ours whose outcome was unknown landing late is no other writer: the delete goes on)
                if self._kept_remote_instead_of_delete(t, head):
                    return
                note = self._conflict_note("this delete was shipped over it")
            if head is not None:
                await self.remote.delete_object(t.bucket, key)
        self._save(t.bucket, t.key, version, None, note)

    def _count_conflict(self, bucket: str, key: bytes) -> None:
        """Another writer changed the key on the remote: an event, and the count status and /metrics show."""
        observe.get().event(
            events.SHIP_CONFLICT, "warning", bucket=bucket, key=key.decode(errors="replace"), policy=self.conflict
        )
        self.conflicts += 1

    def _conflict_note(self, outcome: str) -> str:
        return f"conflict: another writer changed it on the remote; {outcome}"

    def _kept_remote_instead_of_delete(self, t: KeyTask, head: RemoteObject) -> bool:
        """A local delete met another writer's newer version on the remote: a conflict. Under last-writer-wins the
        delete goes on (False); otherwise the remote's version is kept and becomes the key's row here (True)."""
        self._count_conflict(t.bucket, t.key)
        if self.conflict == CONFLICT_LAST_WRITER_WINS:
            return False
        note = self._conflict_note("the remote's version was kept, this delete dropped")

        def adopt(c: sqlite3.Connection) -> None:
            if objects.get(c, t.bucket, t.key) is None and not journal.has_pending(
                c, t.bucket, t.key, after=max(t.lsns)
            ):
                objects.put_remote_only(c, t.bucket, t.key, head.size, head.etag, head.mtime or time.time(), head.meta,
                                        False)  # fmt: skip
            ship_state.applied(c, t.bucket, t.key, objects.REMOTE_VERSION, head.etag, note)

        self.committer.run_sync(adopt)
        return True

    async def _conflict(self, obj: Object) -> tuple[str, str | None] | None:
        """Another writer changed the key on the remote since this daemon last shipped it: the conflict policy
        decides. Returns what was shipped for the key, or None when the remote's version was kept."""
        head = await self.remote.head_object(obj.bucket, obj.key.decode())
        if head is not None and head.etag == obj.etag:
            # the remote already holds these very bytes: an earlier attempt of ours landed, or the same write
            return head.etag, None
        self._count_conflict(obj.bucket, obj.key)
        if self.conflict == CONFLICT_LAST_WRITER_WINS:
            etag, note = await self._ship_object(obj)
            return (
                etag,
                self._conflict_note(f"this write was shipped over it{_also(note)}"),
            )
        if self.conflict == CONFLICT_KEEP_BOTH:
            derived = f"{obj.key.decode()}.conflict-{obj.version}"
            await self._ship_object(obj, as_key=derived)
        kept = (
            "kept under " + f"{obj.key.decode()}.conflict-{obj.version}"
            if self.conflict == CONFLICT_KEEP_BOTH
            else "dropped"
        )
        note = self._conflict_note(f"the remote's version was kept, this write {kept}")

        def adopt(c: sqlite3.Connection) -> list[str]:
            if head is None:
                gone = objects.drop_replaced(c, obj.bucket, obj.key, obj.etag)
            else:
                mtime = head.mtime or time.time()
                gone = objects.adopt_remote(c, obj.bucket, obj.key, obj.etag, head.size, head.etag, mtime, head.meta)
            cache_index.forget_own_bytes(c, obj.bucket, obj.key)
            ship_state.applied(c, obj.bucket, obj.key, objects.REMOTE_VERSION, head.etag if head else None, note)
            return gone or []

        self.blobs.remove(self.committer.run_sync(adopt))
        return None

    async def _ship_tags(self, obj: Object, etag: str) -> None:
        try:
            await self.remote.put_tags(obj.bucket, obj.key.decode(), obj.tags)
        except RemoteError as e:
            if not lacks_feature(e):
                raise
            note = f"remote does not keep tags ({e.status} {e.code}); the object is shipped without them"
            log.warning("%s/%s: %s", obj.bucket, obj.key.decode(errors="replace"), note)
            self._save(obj.bucket, obj.key, obj.version, etag, note)

    async def _check_tags(self, obj: Object) -> str | None:
        """After shipping a tagged object: did the remote keep its tags? A note if not."""
        try:
            kept = await self.remote.get_tags(obj.bucket, obj.key.decode())
        except RemoteError as e:
            if not lacks_feature(e):
                raise
            return f"remote does not keep tags ({e.status} {e.code})"
        if sorted(kept) != sorted(obj.tags or []):
            return "remote did not keep the object's tags"
        return None

    async def _ensure_bucket(self, bucket: str) -> None:
        if bucket not in self.ensured:
            await self.remote.ensure_bucket(bucket)
            self.ensured.add(bucket)
            if self.conditional_writes is None:
                self.conditional_writes = await honours_conditional_writes(self.remote, bucket)
                if self.conditional_writes is not None:
                    honoured = self.conditional_writes
                    self.committer.run_sync(lambda c: state.put(c, state.REMOTE_CONDITIONAL_WRITES, honoured))

    def _ships_early(self, u: Upload) -> bool:
        """May an upload's parts go to the remote before it completes? Only when its object will surely ship as
        it is: no upload filter (it may depend on the final size), no hold tag, not encrypted."""
        tags = u.meta.get("tags") or []
        return (
            self.upload_filter is None
            and SSE_META not in u.meta
            and not any(tuple(t) == filters.HOLD_TAG for t in tags)
            and self.reachable is not False
        )

    async def _bucket_ready(self, bucket: str) -> None:
        """The bucket exists on the remote, after its own pending records (as for a key's first ship)."""
        gate = self.bucket_gates.get(bucket)
        if gate is not None:
            await asyncio.gather(gate, return_exceptions=True)
        await self._ensure_bucket(bucket)

    def _envelope(self, obj: Object) -> Envelope | None:
        raw = obj.meta.get(SSE_META)
        return Envelope.loads(raw) if raw else None

    def _data_key(self, obj: Object) -> bytes | None:
        """The data key of an SSE-S3/SSE-KMS object: it ships decrypted, over the remote's own transport."""
        env = self._envelope(obj)
        if env is None:
            return None
        assert self.keyring is not None, "the gateway service gives the shipper its keyring"
        return open_key(self.keyring, env)

    async def _hold_sse_c(self, bucket: str, key: bytes, version: int, shipped: ship_state.Shipped | None) -> None:
        """An SSE-C object never ships: s3d cannot decrypt it without the customer's key, and shipping the
        ciphertext would give the remote bytes no one could read through it. An older version already on the
        remote is deleted there, so the remote never serves what the key no longer holds."""
        if shipped is not None and shipped.remote_etag is not None:
            try:
                await self.remote.delete_object(bucket, key.decode())
            except RemoteNotFound:
                pass
        self._save(bucket, key, version, None, SSE_C_NOTE, held=ship_state.HELD_SSE_C)

    def _pieces(self, obj: Object, data_key: bytes | None) -> list[Piece]:
        if obj.data is not None:
            return [Piece(data=decrypt_inline(data_key, obj.data, obj.size) if data_key else obj.data)]
        assert obj.blob is not None
        return [blob_piece(self.blobs, obj.blob, obj.size, data_key)]

    async def _ship_object(
        self, obj: Object, if_match: str | None = None, as_key: str | None = None, if_absent: bool = False
    ) -> tuple[str, str | None]:
        """Upload one object version (under its own key, or ``as_key``); returns the remote ETag and a note on any
        difference. ``if_match``: only over the remote ETag this daemon last saw (412 if another writer moved it);
        ``if_absent``: only if the key does not exist there (412 if another writer created it)."""
        key = as_key or obj.key.decode()
        meta = {k: v for k, v in obj.meta.items() if k != "x-amz-storage-class"}
        data_key = self._data_key(obj)
        env = self._envelope(obj)
        md5_etags = env is None or env.kind == SSE_S3  # SSE-KMS ETags are not the MD5 of the data
        md5 = obj.etag if md5_etags else None
        if not obj.parts:
            try:
                etag = await self.remote.put_object(
                    obj.bucket,
                    key,
                    self._pieces(obj, data_key),
                    meta,
                    obj.tags,
                    md5=md5,
                    if_match=if_match,
                    if_absent=if_absent,
                )
            except RemoteError as e:
                if not obj.tags or not lacks_feature(e):
                    raise
                etag = await self.remote.put_object(
                    obj.bucket,
                    key,
                    self._pieces(obj, data_key),
                    meta,
                    None,
                    md5=md5,
                    if_match=if_match,
                    if_absent=if_absent,
                )
                return etag, f"remote refused tags ({e.code}); object shipped without them"
        else:
            claim = await self.early.claim(obj, meta) if as_key is None and data_key is None else None
            if claim is not None:
                upload_id, early = claim.upload_id, claim.etags  # parts sent while the upload still arrived
            else:
                upload_id, early = await self.remote.create_multipart(obj.bucket, key, meta, obj.tags), {}
            try:
                parallel = asyncio.Semaphore(PART_CONCURRENCY)

                async def one(p: Part) -> str:
                    if p.number in early:
                        return early[p.number]
                    async with parallel:
                        piece = blob_piece(self.blobs, p.blob, p.size, data_key)
                        return await self.remote.upload_part(
                            obj.bucket, key, upload_id, p.number, [piece], md5=p.etag if md5_etags else None
                        )

                etags = await asyncio.gather(*(one(p) for p in obj.parts))
                etag = await self.remote.complete_multipart(
                    obj.bucket,
                    key,
                    upload_id,
                    [(p.number, e) for p, e in zip(obj.parts, etags, strict=True)],
                    if_match=if_match,
                    if_absent=if_absent,
                )
            except BaseException:
                try:
                    await self.remote.abort_multipart(obj.bucket, key, upload_id)
                except RemoteError:
                    pass
                raise
        if obj.parts:
            # some remotes answer the complete with the multipart ETag but store another one
            head = await self.remote.head_object(obj.bucket, key)
            if head is not None:
                etag = head.etag
        notes = []
        if etag != obj.etag and md5_etags:
            notes.append(f"remote ETag {etag} differs from local {obj.etag}")
        if obj.tags:
            tag_note = await self._check_tags(obj)
            if tag_note:
                notes.append(tag_note)
        note = "; ".join(notes) or None
        if note:
            log.warning("%s/%s: shipped with differences: %s", obj.bucket, key, note)
        return etag, note

    # ---------- bucket records ----------
    async def _bucket_op(self, r: Record) -> None:
        attempt = 0
        while not self.stopping:
            try:
                if r.op == "create_bucket":
                    if self._bucket_exists(r.bucket):
                        await self._ensure_bucket(r.bucket)
                elif r.op == "delete_bucket" and not self._bucket_exists(r.bucket):
                    self.ensured.discard(r.bucket)
                    try:
                        await self.remote.delete_bucket(r.bucket)
                    except RemoteNotFound:
                        pass
                    except RemoteError as e:
                        if e.retryable:
                            raise
                        log.warning("remote bucket %s not deleted: %s", r.bucket, e)
                self.remote_ok()
                return
            except RemoteError as e:
                self.remote_failed(e)
                if not e.retryable:
                    log.warning("bucket %s: remote refused %s: %s", r.bucket, r.op, e)
                    return
                await asyncio.sleep(backoff(attempt))
                attempt += 1

    def _bucket_exists(self, bucket: str) -> bool:
        return buckets.exists(self.conn, bucket)

    # ---------- HWM ----------
    async def _skip_applied_tail(self) -> None:
        """Nothing dispatched is in flight: HWM moves over records that left the journal before it could move
        (applied above a stuck HWM, or just before a crash), so a restart never leaves it short of LSN."""
        top = journal.current_lsn(self.conn)  # read first: a record committed after it is above it
        if top <= self.hwm:
            return
        first = journal.pending(self.conn, self.hwm, 1)
        if first and first[0].lsn <= top:
            return  # still to ship
        self.hwm = self.cursor = top
        await self.committer.run(lambda c: state.put(c, state.HWM, top))

    async def _mark_done(self, lsns: list[int]) -> None:
        """Applied records leave the journal at once (even above a stuck HWM), so the journal
        holds exactly what is not yet on the remote; then HWM moves over the applied prefix.

        The commit is awaited, not waited for on the loop: the other keys ship meanwhile, and the stored HWM
        is read when the commit runs, so commits finishing in any order never move it back."""
        self.done.update(lsns)
        advanced = False
        while self.order and self.order[0] in self.done:
            self.hwm = self.order.popleft()
            self.done.discard(self.hwm)
            advanced = True

        def op(c: sqlite3.Connection) -> None:
            journal.applied(c, lsns)
            if advanced:
                state.put(c, state.HWM, self.hwm)  # never below what an earlier commit stored: HWM only grows

        await self.committer.run(op)

    # ---------- health ----------
    def _record_error(self, t: KeyTask, e: RemoteError) -> None:
        observe.get().event(
            events.SHIP_FAILED,
            "error",
            bucket=t.bucket,
            key=t.key.decode(errors="replace"),
            error_code=e.code,
            status=e.status,
        )
        self.committer.run_sync(lambda c: ship_state.failed(c, t.bucket, t.key, e.code, e.message, e.status))

    def remote_failed(self, e: RemoteError) -> None:
        """Publish a remote failure: unreachable (no answer) or unusable (it answered with an error)."""
        if e.status == 0:
            if self.reachable is not False:
                self.reachable = False
                self._publish_health(reachable=0, down_since=time.time(), error=f"{e.code}: {e.message}"[:ERROR_TEXT])
                observe.get().event(events.REMOTE_DOWN, "warning", error_code=e.code, error=e.message[:200])
        elif not e.retryable:
            message = f"{e.status} {e.code}: {e.message}"[:ERROR_TEXT]
            self.committer.run_sync(lambda c: state.put(c, state.REMOTE_ERROR, message))

    def remote_ok(self) -> None:
        if self.reachable is not True:
            if self.reachable is False:
                observe.get().event(events.REMOTE_UP, "info")
            self.reachable = True
            self._publish_health(reachable=1, down_since=None, error=None)

    def dirty_bytes(self) -> int:
        """Bytes not yet on the remote (or never to be: held back), which eviction never touches."""
        return cache_index.usage(self.conn)["dirty"]

    def _publish_health(self, reachable: int, down_since: float | None, error: str | None) -> None:
        def op(c: sqlite3.Connection) -> None:
            state.put(c, state.REMOTE_REACHABLE, reachable)
            state.put(c, state.REMOTE_DOWN_SINCE, down_since)
            state.put(c, state.REMOTE_ERROR, error)

        self.committer.run_sync(op)

    def _publish(self) -> None:
        try:
            dirty = self.dirty_bytes()
            self.committer.run_sync(lambda c: state.put(c, state.DIRTY_BYTES, dirty))
        except sqlite3.Error as e:
            log.warning("cannot publish shipper state: %s", e)

    def summary(self) -> dict[str, Any]:
        return {"hwm": self.hwm, "in_flight_keys": len(self.tasks), "shipped_objects": self.shipped_objects}
