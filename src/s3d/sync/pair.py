"""One folder kept in sync with one bucket/prefix: a run compares the folder, the bucket and the base
(both as they were at the last sync) and makes the changes that bring them together.

Every run is a full comparison; what starts one (a change in the folder, a change in the bucket, the
periodic rescan) is service.py's business. Objects are written through the store's object writer and
deleted through the namespace, so in gateway mode both ship to the remote like any S3 write.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import mimetypes
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from s3d.filters.evaluate import Filter, Subject
from s3d.object_keys import MAX_KEY, carries
from s3d.store import objects, sync_state
from s3d.store.errors import NoSuchKey, PreconditionFailed, StoreError
from s3d.store.namespace import Namespace
from s3d.store.objects import Conditions
from s3d.store.ranges import Body, OpenSpan
from s3d.store.store import Store
from s3d.store.sync_state import Base
from s3d.store.writer import Draft, ObjectWriter
from s3d.sync import local
from s3d.sync.config import ConflictPolicy, SyncPair
from s3d.sync.local import LocalEntry
from s3d.sync.plan import DELETES, Act, RemoteEntry, conflict_name, decide

log = logging.getLogger("s3d.sync")

MTIME_META = "x-amz-meta-mtime"  # rclone's name (s3fs uses it too, in whole seconds)
# Encryption at rest is applied by the S3 layer (s3/handlers/sse.py), which the sync does not reach:
SSE_META = "x-s3d-sse"  # an object's envelope: its bytes here are ciphertext, never copied to the folder
ENCRYPTION_CONFIG = "encryption"  # a bucket's default encryption: the sync does not write into it
DEFAULT_CONTENT_TYPE = "application/octet-stream"
EMPTY_MD5 = hashlib.md5(b"").hexdigest()
NS = 1_000_000_000
MAX_MTIME_NS = 1 << 63  # a file's mtime in nanoseconds is a signed 64-bit number (until the year 2262)
STABLE_SECONDS = 0.5  # a file closed (local.open_for_writing) and unchanged for this long is complete
CONCURRENCY = 16  # transfers of one run at a time
BASE_BATCH = 256  # base rows written per transaction
READ_CHUNK = 1 << 20
EMPTY_GUARD = 2  # a folder that had at least this many entries and is now empty pauses the pair
DELETE_FLOOR = 10  # a percentage max_delete never stops a run deleting this many or fewer
RETRY_SOON = 0.05  # seconds before the next run when this one changed something or lost a race
RETRY_ERROR = 5.0  # seconds before the next run after a path failed (a name taken by a directory...)


def format_mtime(mtime_ns: int) -> str:
    """rclone's form: fractional Unix seconds."""
    return f"{mtime_ns // NS}.{mtime_ns % NS:09d}"


def parse_mtime(text: str | None) -> int | None:
    """rclone's fractional seconds or s3fs's whole seconds, in nanoseconds; None if unreadable."""
    if not text:
        return None
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None
    ns = int(whole) * NS + int((frac + "0" * 9)[:9])
    return ns if ns < MAX_MTIME_NS else None  # beyond what a file's mtime can hold: the object's own time


@dataclass(slots=True)
class RunResult:
    """What a run leaves for later: seconds until it wants to run again (None: nothing pending)."""

    again_in: float | None = None

    def soon(self, seconds: float) -> None:
        self.again_in = seconds if self.again_in is None else min(self.again_in, seconds)


@dataclass(slots=True)
class Counts:
    pending_up: int = 0
    pending_down: int = 0
    deletes: int = 0
    errors: list[str] = field(default_factory=list)


class PairSync:
    def __init__(self, pair: SyncPair, store: Store, ns: Namespace, global_filter: Filter | None) -> None:
        self.pair = pair
        self.store = store
        self.ns = ns
        self.filters = [f for f in (global_filter, pair.filter) if f is not None]
        self.root = pair.dir
        self.prefix = pair.prefix.encode()
        self.skipped: set[str] = set()
        self.wake = asyncio.Event()
        self.lsn = 0  # the journal's LSN when the bucket side was last seen to change
        previous = sync_state.get_status(store.reader, pair.name) or {}
        self.conflicts = int(previous.get("conflicts", 0))
        self.status: dict[str, Any] = {}
        self._base_writes: list[tuple[str, Base | None]] = []
        self._base: dict[str, Base] | None = None  # loaded once: only this object writes it afterwards
        self._encrypted: set[str] = set()  # objects encrypted at rest: left alone on both sides
        self._listing: tuple[tuple[int, int, float, float], dict[str, RemoteEntry]] | None = None

    # ---------- one run ----------
    async def run(self) -> RunResult:
        result = RunResult()
        counts = Counts()
        try:
            await self._run(result, counts)
        except StoreError as e:
            counts.errors.append(f"store: {e}")
            result.soon(RETRY_ERROR)
        await self._flush_base()
        await self._publish(counts)
        return result

    async def _run(self, result: RunResult, counts: Counts) -> None:
        if self._base is None:
            self._base = sync_state.load_base(self.store.reader, self.pair.name)
        base = dict(self._base)
        if not self.root.is_dir():
            counts.errors.append(f"paused: the folder {self.root} is missing")
            return
        if not (self.root / local.MARKER).exists():
            if base:
                counts.errors.append(
                    f"paused: the folder's marker {local.MARKER} is missing (an unmounted disk or a wrong path?); "
                    f"put it back to resume"
                )
                return
            await asyncio.to_thread(local.ensure_marker, self.root)
        bucket = self.store.get_bucket(self.pair.bucket)
        if bucket is not None and bucket.config.get(ENCRYPTION_CONFIG):
            counts.errors.append(
                f"paused: bucket {self.pair.bucket} has default encryption, which the sync does not apply"
            )
            return
        remote = self._remote()
        markers = {p for p, r in remote.items() if r.is_dir}
        try:
            here = await asyncio.to_thread(local.scan, self.root, markers, self.skipped)
        except FileNotFoundError:
            counts.errors.append(f"paused: the folder {self.root} is missing")
            return
        if not here and len(base) >= EMPTY_GUARD:
            counts.errors.append(f"paused: the folder {self.root} is suddenly empty; nothing deleted")
            return
        plan: list[tuple[str, Act]] = []
        young: dict[str, Act] = {}  # written less than STABLE_SECONDS ago: looked at again at the end of the run
        wait = 0.0
        now_ns = time.time_ns()
        for path in sorted(set(here) | set(remote) | set(base)):
            lo, re_, b = here.get(path), remote.get(path), base.get(path)
            if path in self._encrypted or self._excluded(path, lo, re_):
                continue
            if lo is not None and re_ is None and not self._keyable(path):
                continue  # a file no S3 key can name stays in the folder
            act = decide(lo, re_, b, self.pair.direction)
            if act in (Act.UPLOAD, Act.COMPARE) and lo is not None and not lo.is_dir:
                age = (now_ns - lo.mtime_ns) / NS
                if 0 <= age < STABLE_SECONDS:  # still being written, perhaps (a future mtime: the lease test decides)
                    young[path] = act
                    wait = max(wait, STABLE_SECONDS - age)
                    continue
            if act is not Act.NOTHING:
                plan.append((path, act))
        deletes = sum(1 for p, a in plan if a in DELETES and not p.endswith("/"))  # files, as the limit counts
        limit = self.pair.max_delete.limit(sum(1 for p in base if not p.endswith("/")))
        if self.pair.max_delete.percent is not None:
            limit = max(limit, DELETE_FLOOR)
        if deletes > limit:
            counts.errors.append(
                f"stopped: this run would delete {deletes} files (max_delete {self.pair.max_delete}); "
                "nothing was deleted"
            )
            plan = [(p, a) for p, a in plan if a not in DELETES]
        taken = set(here) | set(remote)
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(path: str, act: Act) -> None:
            async with sem:
                try:
                    await self._apply(path, act, here.get(path), remote.get(path), taken, result, counts)
                except local.Occupied as e:  # a symlink or a directory holds the name: left alone on both sides
                    local.skip_once(self.skipped, path, str(e))
                except (OSError, StoreError) as e:
                    counts.errors.append(f"{path}: {e}")
                    log.warning("sync %s: %s: %s", self.pair.name, path, e)
                    result.soon(RETRY_ERROR)
                except Exception as e:  # noqa: BLE001 - one path's failure must not stop the run's others
                    counts.errors.append(f"{path}: {e!r}")
                    log.exception("sync %s: %s failed", self.pair.name, path)
                    result.soon(RETRY_ERROR)

        await asyncio.gather(*(one(p, a) for p, a in plan))
        if young:
            await asyncio.sleep(wait)
            again = await asyncio.to_thread(lambda: {p: local.lstat_entry(self.root, p) for p in young})
            settled = {p: a for p, a in young.items() if again[p] == here[p]}
            counts.pending_up += len(young) - len(settled)  # still changing: the next run looks again
            if len(settled) < len(young):
                result.soon(STABLE_SECONDS)
            await asyncio.gather(*(one(p, a) for p, a in settled.items()))
            plan.extend(settled.items())
        if plan:
            result.soon(RETRY_SOON)  # look again: confirm that everything settled

    def _excluded(self, path: str, lo: LocalEntry | None, re_: RemoteEntry | None) -> bool:
        if not self.filters:
            return False
        key = self.pair.prefix + path
        subjects = []
        if lo is not None:
            subjects.append(Subject(self.pair.bucket, key, lo.size, lo.mtime_ns / NS))
        if re_ is not None:
            subjects.append(Subject(self.pair.bucket, key, re_.size, re_.mtime_ns / NS))
        return any(not f.decide(s).include for f in self.filters for s in subjects)

    def _keyable(self, path: str) -> bool:
        """Whether S3 can name the file: a key of at most MAX_KEY bytes, of characters XML can carry."""
        if len(self.prefix) + len(path.encode()) <= MAX_KEY and carries(path):
            return True
        local.skip_once(self.skipped, path, f"no S3 key can name it (longer than {MAX_KEY} bytes, or not XML text)")
        return False

    def _remote(self) -> dict[str, RemoteEntry]:
        """The bucket under the prefix (read again only when its signature changed)."""
        sig = objects.prefix_signature(self.store.reader, self.pair.bucket, self.prefix)
        if self._listing is None or self._listing[0] != sig:
            self._listing = (sig, self._read_remote())
        return self._listing[1]

    def _read_remote(self) -> dict[str, RemoteEntry]:
        out: dict[str, RemoteEntry] = {}
        self._encrypted = set()
        for s in objects.under_prefix(self.store.reader, self.pair.bucket, self.prefix, MTIME_META, SSE_META):
            path = _path_of(s.key[len(self.prefix) :])
            if path is None or (path.endswith("/") and s.size):
                continue
            if s.flagged:
                self._encrypted.add(path)
                local.skip_once(self.skipped, f"{self.pair.bucket}/{s.key.decode()}", "it is encrypted at rest")
                continue
            mtime_ns = parse_mtime(s.meta_mtime) or int(s.mtime * NS)
            out[path] = RemoteEntry(s.key, s.size, s.etag, mtime_ns, path.endswith("/"))
        return out

    async def _apply(
        self,
        path: str,
        act: Act,
        lo: LocalEntry | None,
        re_: RemoteEntry | None,
        taken: set[str],
        result: RunResult,
        counts: Counts,
    ) -> None:
        if act is Act.FORGET:
            await self._record(path, None)
        elif act is Act.UPLOAD:
            assert lo is not None
            done = await self._upload(path, lo, re_)
            if done is None:
                counts.pending_up += 1
                result.soon(STABLE_SECONDS)
            else:
                await self._record(path, done)
        elif (
            act in (Act.DOWNLOAD, Act.DELETE_LOCAL)
            and lo is not None
            and not lo.is_dir
            and await asyncio.to_thread(local.being_written, self.root, path)
        ):
            counts.pending_down += 1  # replaced or removed now, what the writer writes next would be lost
            result.soon(STABLE_SECONDS)
        elif act is Act.DOWNLOAD:
            assert re_ is not None
            got = await self._download(path, re_, lo)
            if got is None:
                counts.pending_down += 1
                result.soon(RETRY_SOON)
            else:
                await self._record(path, got)
        elif act is Act.DELETE_REMOTE:
            assert re_ is not None
            if await self._delete_remote(re_):
                await self._record(path, None)
        elif act is Act.DELETE_LOCAL:
            assert lo is not None
            if await asyncio.to_thread(self._delete_local, path, lo):
                await self._record(path, None)
        elif act is Act.COMPARE:
            assert lo is not None and re_ is not None
            await self._compare(path, lo, re_, taken)

    # ---------- the folder -> the bucket ----------
    async def _upload(self, path: str, lo: LocalEntry, re_: RemoteEntry | None) -> Base | None:
        """Write the file as the object; None when it changed while read, or the object changed meanwhile."""
        key = self.prefix + path.encode()
        cond = Conditions(if_match=re_.etag) if re_ is not None else Conditions(if_none_match=True)
        reservation = await self.ns.reserve_write(lo.size)
        try:
            with self.store.writer(lo.size) as w:
                etag = EMPTY_MD5
                meta: dict[str, str] = {}
                if not lo.is_dir:
                    read = await self._stream(path, lo, w)
                    if read is None:
                        w.discard()
                        return None
                    etag = read
                    ctype = mimetypes.guess_type(path)[0] or DEFAULT_CONTENT_TYPE
                    meta = {"content-type": ctype, MTIME_META: format_mtime(lo.mtime_ns)}
                draft = Draft(self.pair.bucket, key, etag, meta)
                try:
                    await w.commit_object(draft, cond)
                except (PreconditionFailed, NoSuchKey):
                    return None  # the bucket changed since the listing: the next run sees both changes
        finally:
            await self.ns.release_write(reservation)
        return Base(lo.size, lo.mtime_ns, etag)

    async def _stream(self, path: str, lo: LocalEntry, w: ObjectWriter) -> str | None:
        """Stream the file into the writer (bounded memory); its MD5, or None if it is not the scanned,
        closed file. A large file is copied by the kernel while another thread hashes it."""
        fd = await asyncio.to_thread(self._open_closed, path, lo)
        if fd is None:
            return None
        try:
            if lo.size > self.store.inline_max:
                digest, copied = await asyncio.gather(
                    asyncio.to_thread(_md5_of, fd, lo.size), w.copy([OpenSpan(fd, 0, lo.size)]), return_exceptions=True
                )  # both finish before the descriptor closes
                if isinstance(copied, BaseException) or isinstance(digest, BaseException):
                    if _entry(os.fstat(fd)) != lo:
                        return None  # it changed under us (truncated, say): the next run sees it
                    raise copied if isinstance(copied, BaseException) else digest  # type: ignore[misc]
            else:
                digest = await asyncio.to_thread(_read_small, fd, w)
            if _entry(os.fstat(fd)) != lo or w.size != lo.size:
                return None
            return str(digest)
        finally:
            os.close(fd)

    def _open_closed(self, path: str, lo: LocalEntry) -> int | None:
        """The file opened for reading, if it is what the scan saw and nobody has it open for writing."""
        try:
            fd = local.open_file(self.root, path)
        except OSError:
            return None
        if _entry(os.fstat(fd)) != lo or local.open_for_writing(fd):
            os.close(fd)
            return None
        return fd

    async def _delete_remote(self, re_: RemoteEntry) -> bool:
        def unchanged(obj: objects.Object | None) -> None:  # checked inside the deleting transaction
            if obj is None or obj.etag != re_.etag:
                raise PreconditionFailed("If-Match")

        try:
            await self.ns.delete_object(self.pair.bucket, re_.key, precondition=unchanged)
        except PreconditionFailed:
            return False  # replaced since the listing (a PUT meanwhile is never deleted): the next run sees it
        return True

    # ---------- the bucket -> the folder ----------
    async def _download(self, path: str, re_: RemoteEntry, expected: LocalEntry | None) -> Base | None:
        """Write the object as the file (atomically); None if either side changed meanwhile."""
        obj = await self.ns.find_object(self.pair.bucket, re_.key)
        if obj is None or obj.etag != re_.etag:
            return None
        if re_.is_dir:
            await asyncio.to_thread(local.mkdirs, self.root, path)
            return Base(0, 0, re_.etag)
        if await asyncio.to_thread(local.lstat_entry, self.root, path) is local.OTHER:
            raise local.Occupied(errno.EEXIST, f"{path} is taken by a symlink, a directory or a special file")
        incoming = await asyncio.to_thread(local.Incoming, self.root, path)
        try:
            if obj.size:
                body, _ = await self.ns.open_range(obj, 0, obj.size - 1)
                await _drain(body, incoming.write)
            got = await asyncio.to_thread(incoming.finish, re_.mtime_ns, expected)
        except BaseException:
            await asyncio.to_thread(incoming.discard)
            raise
        if got is None:
            return None
        return Base(got.size, got.mtime_ns, re_.etag)

    def _delete_local(self, path: str, lo: LocalEntry) -> bool:
        if local.lstat_entry(self.root, path) != lo:
            return False  # changed since the scan: the next run sees it
        try:
            local.remove(self.root, path)
        except FileNotFoundError:
            pass
        except OSError as e:
            if not lo.is_dir or isinstance(e, local.Occupied):
                raise
            return True  # a directory that is no longer empty stays; its marker object is gone
        local.prune_empty_parents(self.root, path, lambda rel: rel in (self._base or {}))
        return True

    # ---------- both changed ----------
    async def _compare(self, path: str, lo: LocalEntry, re_: RemoteEntry, taken: set[str]) -> None:
        if await asyncio.to_thread(self._same, path, lo, re_):
            await self._record(path, Base(lo.size, lo.mtime_ns, re_.etag))
            return
        policy = self.pair.conflict
        local_wins = policy is ConflictPolicy.LOCAL or (policy is ConflictPolicy.NEWER and lo.mtime_ns >= re_.mtime_ns)
        other = conflict_name(path, time.time(), taken)
        taken.add(other)
        self.conflicts += 1
        log.warning("sync %s: conflict on %s; the %s version is kept as %s",
                    self.pair.name, path, "bucket's" if local_wins else "folder's", other)  # fmt: skip
        if local_wins:
            # the bucket's version is kept beside it (the next run uploads the copy), then the file replaces it
            if await self._download(other, re_, None) is None:
                return
            done = await self._upload(path, lo, re_)
            if done is not None:
                await self._record(path, done)
        else:
            # the folder's version moves aside (the next run uploads it), then the object comes down
            await asyncio.to_thread(_rename_aside, self.root, path, other, lo)
            got = await self._download(path, re_, None)
            if got is not None:
                await self._record(path, got)

    def _same(self, path: str, lo: LocalEntry, re_: RemoteEntry) -> bool:
        if lo.is_dir or re_.is_dir:
            return lo.is_dir == re_.is_dir
        if lo.size != re_.size:
            return False
        if "-" in re_.etag:  # a multipart ETag is not an MD5 of the bytes
            return lo.mtime_ns == re_.mtime_ns
        md5 = hashlib.md5()
        try:
            with os.fdopen(local.open_file(self.root, path), "rb") as f:
                while chunk := f.read(READ_CHUNK):
                    md5.update(chunk)
        except OSError:
            return False
        return md5.hexdigest() == re_.etag.strip('"')

    # ---------- the base and the status ----------
    async def _record(self, path: str, base: Base | None) -> None:
        self._base_writes.append((path, base))
        assert self._base is not None
        if base is None:
            self._base.pop(path, None)
        else:
            self._base[path] = base
        if len(self._base_writes) >= BASE_BATCH:
            await self._flush_base()

    async def _flush_base(self) -> None:
        writes, self._base_writes = self._base_writes, []
        if not writes:
            return
        name = self.pair.name

        def op(conn: Any) -> None:
            for path, base in writes:
                if base is None:
                    sync_state.forget_base(conn, name, path)
                else:
                    sync_state.put_base(conn, name, path, base)

        try:
            await self.store.committer.run(op)
        except BaseException:
            self._base = None  # read it again: the database holds what really committed
            raise

    async def _publish(self, counts: Counts) -> None:
        files = [(p, b) for p, b in (self._base or {}).items() if not p.endswith("/")]
        error = "; ".join(counts.errors[:3]) if counts.errors else None
        previous = self.status
        status: dict[str, Any] = {
            "pair": self.pair.name,
            "dir": str(self.root),
            "bucket": self.pair.bucket,
            "prefix": self.pair.prefix,
            "direction": self.pair.direction.value,
            "conflict": self.pair.conflict.value,
            "max_delete": str(self.pair.max_delete),
            "files": len(files),
            "bytes": sum(b.size for _, b in files),
            "pending_up": counts.pending_up,
            "pending_down": counts.pending_down,
            "conflicts": self.conflicts,
            "paused": bool(error and error.startswith("paused")),
            "last_error": error if error else previous.get("last_error"),
            "last_error_at": time.time() if error else previous.get("last_error_at"),
            "healthy": error is None,
            "last_full_scan": time.time(),
            "skipped": len(self.skipped),
            "bucket_lsn": self.lsn,
        }
        self.status = status
        name = self.pair.name
        await self.store.committer.run(lambda conn: sync_state.put_status(conn, name, status))


def _md5_of(fd: int, size: int) -> str:
    md5 = hashlib.md5()
    done = 0
    while done < size:
        chunk = os.pread(fd, min(READ_CHUNK, size - done), done)
        if not chunk:
            break
        md5.update(chunk)
        done += len(chunk)
    return md5.hexdigest()


def _read_small(fd: int, w: ObjectWriter) -> str:
    md5 = hashlib.md5()
    while chunk := os.read(fd, READ_CHUNK):
        md5.update(chunk)
        w.write(chunk)
    return md5.hexdigest()


def _entry(st: os.stat_result) -> LocalEntry:
    return LocalEntry(st.st_size, st.st_mtime_ns)


def _path_of(rel: bytes) -> str | None:
    """The folder path of a key below the prefix; None for keys no file can be named after."""
    try:
        path = rel.decode()
    except UnicodeDecodeError:
        return None
    parts = path.rstrip("/").split("/")
    if not path or any(p in ("", ".", "..") or p.startswith(local.INTERNAL) or "\0" in p for p in parts):
        return None
    return path


def _rename_aside(root: Any, path: str, other: str, lo: LocalEntry) -> None:
    """Rename the file to ``other``, beside it (the same directory: conflict_name)."""
    if local.lstat_entry(root, path) != lo or local.lstat_entry(root, other) is not None:
        raise FileExistsError(f"{path} changed while its conflict was being resolved")
    parents = path.split("/")[:-1]
    fd = local.open_dir(root, parents)
    try:
        os.rename(path.split("/")[-1], other.split("/")[-1], src_dir_fd=fd, dst_dir_fd=fd)
        os.fsync(fd)
    finally:
        os.close(fd)


async def _drain(body: Body, write: Callable[[bytes | memoryview], None]) -> None:
    """Hand an object's bytes to ``write``, whatever shape the namespace gave them in."""
    if isinstance(body, bytes):
        await asyncio.to_thread(write, body)
        return
    if isinstance(body, list):
        try:
            for piece in body:
                if isinstance(piece, OpenSpan):
                    await asyncio.to_thread(_copy_span, piece, write)
                else:
                    await asyncio.to_thread(write, piece)
        finally:
            for piece in body:
                if isinstance(piece, OpenSpan):
                    os.close(piece.fd)
        return
    stream: AsyncIterator[bytes] = body
    async for chunk in stream:
        await asyncio.to_thread(write, chunk)


def _copy_span(span: OpenSpan, write: Callable[[bytes | memoryview], None]) -> None:
    done = 0
    while done < span.length:
        chunk = os.pread(span.fd, min(READ_CHUNK, span.length - done), span.offset + done)
        if not chunk:
            raise OSError("an object's blob is shorter than its metadata says")
        write(chunk)
        done += len(chunk)
