"""The filesystem operations: paths and open files on one side, S3 calls (objects.py) on the other.

Every operation turns what fails into an errno (errors.py); nothing here raises anything else to libfuse.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from s3d.mount.attrs import PERM_BITS, Entry
from s3d.mount.cache import MetaCache, split
from s3d.mount.errors import MountError, as_oserror
from s3d.mount.filtering import shown
from s3d.mount.fuse import Operations, fuse_get_context
from s3d.mount.kernel import set_read_ahead
from s3d.mount.objects import Objects
from s3d.mount.reader import BlockPool, ReadSettings
from s3d.mount.settings import NAME_MAX_BYTES, MountSettings
from s3d.mount.staging import MemoryBudget, OpenFile
from s3d.object_keys import is_utf8

log = logging.getLogger("s3d.mount")

P = ParamSpec("P")
R = TypeVar("R")

RENAME_NOREPLACE = 1  # renameat2 flags
RENAME_EXCHANGE = 2
UTIME_NOW = (1 << 30) - 1  # utimensat's special tv_nsec values, passed with tv_sec 0
UTIME_OMIT = (1 << 30) - 2
UNCHANGED_ID = -1  # chown's "leave as is"
MOVE_ROUNDS = 8  # a directory rename copies again what changed while it ran, this many times at the most
RELIST_MAX = 1000  # a stale listing this small is fetched again rather than asking about one name
MAX_KERNEL_LISTINGS = 10_000  # directories whose listing versions given to the kernel are remembered
UNVERSIONED = 0  # a listing given with files not yet uploaded in it: equal to no version (those count from 1)
CREATING_WINDOW = 5.0  # seconds after a create in a directory during which its unknown names are probed
CREATED_DIRS_MAX = 10_000  # directories remembered for that
PAGE_CACHED_MAX = 100_000  # paths whose cached version is remembered (forgetting one only costs a re-read)
BACKGROUND_THREADS = 16  # read-ahead and fill GETs, uploads of parts, directory-rename copies


def _rel(path: str | None) -> str:
    if path is None:  # a file removed while open: only its handle names it
        raise MountError(errno.ENOENT)
    return path.strip("/")


def op(fn: Callable[Concatenate[S3Filesystem, str, P], R]) -> Callable[Concatenate[S3Filesystem, str, P], R]:
    """Any failure of an operation becomes an OSError with the errno the caller gets."""

    @functools.wraps(fn)
    def wrapper(self: S3Filesystem, path: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(self, path, *args, **kwargs)
        except OSError:
            raise
        except Exception as e:
            raise as_oserror(e, f"{fn.__name__} {path}") from None

    return wrapper


class S3Filesystem(Operations):  # type: ignore[misc]
    use_ns = True  # times in integer nanoseconds
    flag_nopath = True  # with flag_nullpath_ok: mfusepy sets libfuse's nullpath_ok (and not nopath)
    flag_nullpath_ok = True

    def __init__(self, objects: Objects, settings: MountSettings, staging_dir: Path) -> None:
        self.o = objects
        self.settings = settings
        self.cache = MetaCache(settings.attr_cache, listed_attrs=settings.filter is not None)
        self.staging_dir = staging_dir
        self.pool = ThreadPoolExecutor(BACKGROUND_THREADS, thread_name_prefix="s3d-mount")
        self.reads = ReadSettings(settings.read_block, settings.read_ahead)
        self.read_blocks = BlockPool(settings.read_block, settings.read_cache)
        self.memory = MemoryBudget()  # small files written from empty are staged in memory (staging.py)
        self._open: dict[str, OpenFile] = {}  # by path: the handles of one path share its OpenFile
        self._handles: dict[int, OpenFile] = {}
        self._dir_handles: dict[int, str] = {}  # opendir's handles: readdir comes with no path (nullpath_ok)
        # directory -> the versions of its listing that the kernel's copy may hold (given since it last dropped it)
        self._kernel_listings: dict[str, set[int]] = {}
        self._handle_listings: dict[int, tuple[str, int]] = {}  # open directory handle -> the listing it was given
        self._fh = itertools.count(1)
        self._lock = threading.Lock()
        self._root = Entry(True, mtime_ns=time.time_ns())
        self._read_ahead_set = False
        self._created_in: dict[str, float] = {}  # directory -> when a file was last created in it here
        self._page_cached: dict[str, str] = {}  # path -> the ETag the kernel's page cache of it holds
        self._stale_pages: set[int] = set()  # handles opened on a version the kernel's page cache may not hold

    # helpers

    def _writable(self) -> None:
        if self.settings.read_only:
            raise MountError(errno.EROFS)

    def _lookup(self, rel: str) -> Entry | None:
        if rel == "":
            return self._root
        if not is_utf8(rel):
            return None  # no key has this name (creating one is EILSEQ)
        with self._lock:
            of = self._open.get(rel)
        if of is not None and (of.staged or of.etag is None):
            return of.entry  # changes not yet uploaded: the local state is the truth
        known, entry = self.cache.lookup(rel)
        if not known:
            parent, name = split(rel)
            small = (n := self.cache.stale_listing_size(parent)) is not None and n <= RELIST_MAX
            sure, probed = self._probe(rel) if not small and self._creating_in(parent) else (False, None)
            if sure:
                entry = probed
                self.cache.put(rel, entry)
            elif small:
                entry = self._list(parent)[0].get(name)  # one LIST answers every name of a small directory...
                if entry is not None and not entry.is_dir and not self.cache.knows(rel, entry.etag):
                    entry = self.o.head(rel)  # ...but a file's own metadata needs its HEAD
                    self.cache.put(rel, entry)
            else:
                entry = self.o.head(rel)
                if entry is None:
                    entry = self.o.lookup_dir(rel)
                self.cache.put(rel, entry)
        return entry if self._shown(rel, entry) else None

    def _creating_in(self, parent: str) -> bool:
        """Whether files were created in this directory through the mount a moment ago (untar, cp -r): a name
        looked up there is most likely a new one, which one small listing shows absent."""
        with self._lock:
            at = self._created_in.get(parent)
        return at is not None and time.monotonic() - at < CREATING_WINDOW

    def _probe(self, rel: str) -> tuple[bool, Entry | None]:
        """(sure, entry) from one listing of the keys starting with the name (and the HEAD of a file whose metadata
        is not known); not sure when that listing cannot tell."""
        sure, found = self.o.probe(rel)
        if found is not None and not found.is_dir:
            return True, self.cache.with_known_meta(rel, found) or self.o.head(rel)
        return sure, found

    def _shown(self, rel: str, entry: Entry | None) -> bool:
        return shown(self.settings.filter, self.o.bucket, self.o.key(rel), entry)

    def _entry(self, rel: str) -> Entry:
        entry = self._lookup(rel)
        if entry is None:
            raise MountError(errno.ENOENT)
        return entry

    def _list(self, rel: str) -> tuple[dict[str, Entry], int]:
        """The children of `rel` (from the cache while fresh) and the version of that listing."""
        listed = self.cache.listing(rel)
        if listed is None:
            listed = self.cache.put_listing(rel, self.o.list_dir(rel).children())  # with the metadata known
        return listed

    def _register(self, of: OpenFile) -> int:
        fh = next(self._fh)
        with self._lock:
            of.refs += 1
            self._handles[fh] = of
        return fh

    def _handle(self, fh: int) -> OpenFile:
        with self._lock:
            of = self._handles.get(fh)
        if of is None:
            raise MountError(errno.EBADF)
        return of

    def _owner(self) -> tuple[int, int]:
        uid, gid, _pid = fuse_get_context()
        return int(uid), int(gid)

    def _saved(self, of: OpenFile) -> None:
        if of.upload():
            self.cache.put(of.path, of.entry)

    # attributes and directories

    @op
    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, Any]:
        if path is None and fh is not None:
            return self._handle(fh).entry.stat(self.settings.read_block)
        return self._entry(_rel(path)).stat(self.settings.read_block)

    @op
    def opendir(self, path: str) -> int:
        rel = _rel(path)
        fh = next(self._fh)
        with self._lock:
            self._dir_handles[fh] = rel
        return fh

    def keeps_listing(self, fh: int) -> bool:
        """For the FUSE layer, once per opendir: may the kernel answer this directory's listing from its own copy?
        Only if every listing given since the kernel last dropped its copy is the mount's fresh one. Else the kernel
        drops it now; what handles still open were given may refill it, so those stay counted."""
        with self._lock:
            rel = self._dir_handles.get(fh)
        if rel is None:
            return False
        fresh = self.cache.listing_version(rel)
        with self._lock:
            keep = fresh is not None and self._kernel_listings.get(rel) == {fresh}
            if not keep:
                still = {v for r, v in self._handle_listings.values() if r == rel}
                if still:
                    self._kernel_listings[rel] = still
                else:
                    self._kernel_listings.pop(rel, None)
        return keep

    @property
    def caches_listings(self) -> bool:
        """Whether the kernel may keep listings at all (not with an attribute cache time of 0)."""
        return self.settings.attr_cache > 0

    @op
    def releasedir(self, path: str | None, fh: int) -> int:
        with self._lock:
            self._dir_handles.pop(fh, None)
            self._handle_listings.pop(fh, None)
        return 0

    @op
    def readdir(self, path: str | None, fh: int) -> list[str | tuple[str, dict[str, Any], int]]:
        """The names, each with its whole attributes (fuse.py gives them to the kernel with the names)."""
        with self._lock:
            rel = self._dir_handles.get(fh)
        if rel is None:
            raise MountError(errno.EBADF)
        children, version = self._list(rel)
        with self._lock:
            pending = {split(p)[1]: of.entry for p, of in self._open.items() if split(p)[0] == rel and of.etag is None}
            if len(self._kernel_listings) > MAX_KERNEL_LISTINGS:
                self._kernel_listings.clear()  # (forgotten: the next opendir of each has the kernel drop its copy)
            given = UNVERSIONED if pending else version  # files not yet uploaded are in no version: never kept
            self._handle_listings[fh] = (rel, given)
            self._kernel_listings.setdefault(rel, set()).add(given)
        log.debug("listing of %r (version %d) given to the kernel", rel, version)
        children.update(pending)
        out: list[str | tuple[str, dict[str, Any], int]] = [".", ".."]
        inside = rel + "/" if rel else ""
        block = self.settings.read_block
        out.extend(
            (name, e.stat(block), 0) for name, e in children.items() if name in pending or self._shown(inside + name, e)
        )
        return out

    @op
    def mkdir(self, path: str, mode: int) -> int:
        self._writable()
        rel = _rel(path)
        uid, gid = self._owner()
        entry = Entry(True, mtime_ns=time.time_ns(), perms=mode & PERM_BITS, uid=uid, gid=gid)
        self.o.put_dir(rel, entry.meta())
        self.cache.put(rel, entry)
        self.cache.put_listing(rel, {})  # the kernel looked it up and found nothing: nothing is under it
        return 0

    @op
    def rmdir(self, path: str) -> int:
        self._writable()
        rel = _rel(path)
        if rel == "":
            raise MountError(errno.EBUSY)
        with self._lock:
            busy = any(p.startswith(rel + "/") for p in self._open)
        if busy or not self.o.is_empty_dir(rel):
            raise MountError(errno.ENOTEMPTY)
        self.o.delete(self.o.dir_key(rel))
        self.cache.put(rel, None)
        return 0

    @op
    def chmod(self, path: str | None, mode: int, fh: int | None = None) -> int:
        return self._set_attrs(path, fh, lambda e: replace(e, perms=mode & PERM_BITS))

    @op
    def chown(self, path: str | None, uid: int, gid: int, fh: int | None = None) -> int:
        return self._set_attrs(
            path,
            fh,
            lambda e: replace(e, uid=e.uid if uid == UNCHANGED_ID else uid, gid=e.gid if gid == UNCHANGED_ID else gid),
        )

    @op
    def utimens(self, path: str | None, times: tuple[int, int] | None = None, fh: int | None = None) -> int:
        now = time.time_ns()
        mtime_ns = now if times is None or times[1] == UTIME_NOW else times[1]
        if times is not None and times[1] == UTIME_OMIT:
            return 0  # only the access time, which is not kept
        return self._set_attrs(path, fh, lambda e: replace(e, mtime_ns=mtime_ns))

    def _set_attrs(self, path: str | None, fh: int | None, change: Callable[[Entry], Entry]) -> int:
        self._writable()
        if path is None and fh is not None:
            handle = self._handle(fh)
            if handle.unlinked:  # removed while open: only its handles see the change
                handle.set_attrs(change(handle.entry))
                return 0
            path = handle.path
        rel = _rel(path)
        if rel == "":
            raise MountError(errno.EPERM, "the mount's root has no object to keep attributes in")
        entry = self._entry(rel)
        with self._lock:
            of = self._open.get(rel)
        if of is not None and (of.dirty or of.etag is None):
            of.set_attrs(change(of.entry))  # saved with the upload at close
            self.cache.put(rel, of.entry)
            return 0
        new = change(entry)
        if new.is_dir:
            self.o.put_dir(rel, new.meta())
        else:
            new = replace(new, etag=self.o.set_meta(self.o.key(rel), new.meta()))
        if of is not None:
            of.set_attrs(new)
        self.cache.put(rel, new)
        return 0

    @op
    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": self.settings.read_block, "f_frsize": self.settings.read_block, "f_namemax": NAME_MAX_BYTES}

    # files

    @op
    def create(self, path: str, mode: int, flags: int = 0) -> int:
        self._writable()
        rel = _rel(path)
        self.o.key(rel)  # refuses a name S3 cannot hold now, not at close
        uid, gid = self._owner()
        entry = Entry(False, mtime_ns=time.time_ns(), perms=mode & PERM_BITS, uid=uid, gid=gid)
        with self._lock:
            if len(self._created_in) >= CREATED_DIRS_MAX:
                self._created_in.clear()
            self._created_in[split(rel)[0]] = time.monotonic()
            of = self._open.get(rel)
            if of is None:
                of = self._open[rel] = OpenFile(
                    rel, entry, None, self.o, self.staging_dir, self.pool, budget=self.memory
                )
        if of.etag is None:
            of.create_empty()
        else:
            of.truncate(0)
        self.cache.put(rel, of.entry)
        return self._register(of)

    @op
    def open(self, path: str, flags: int) -> int:
        if not self._read_ahead_set:  # after the kernel took libfuse's answer to INIT, which would undo it
            self._read_ahead_set = True
            set_read_ahead(self.settings.mountpoint, self.settings.read_block)
        rel = _rel(path)
        if (flags & os.O_ACCMODE) != os.O_RDONLY or flags & os.O_TRUNC:
            self._writable()
        with self._lock:
            of = self._open.get(rel)
        if of is None:
            head = self.o.head_to_read(rel)  # close-to-open: every open sees the current version
            if head is None:
                self.cache.put(rel, None)
                raise MountError(errno.ENOENT)
            entry, etag, local = head
            self.cache.put(rel, entry)
            with self._lock:
                of = self._open.setdefault(
                    rel, OpenFile(rel, entry, etag, self.o, self.staging_dir, self.pool, local, self.memory)
                )
        fh = self._register(of)
        self._page_cache_of(rel, of.etag, fh)
        if flags & os.O_TRUNC:
            of.truncate(0)
        return fh

    def _page_cache_of(self, rel: str, etag: str | None, fh: int) -> None:
        """The kernel keeps a file's pages from one open to the next only while the version is the same (a
        new one may have the same size and, to the second, the same mtime)."""
        with self._lock:
            if etag is None or self._page_cached.get(rel) != etag:
                self._stale_pages.add(fh)
            if len(self._page_cached) >= PAGE_CACHED_MAX:
                self._page_cached.clear()
            if etag is not None:
                self._page_cached[rel] = etag

    def keeps_page_cache(self, fh: int) -> bool:
        """For the FUSE layer, once per open: may the kernel keep the pages it has of this file?"""
        with self._lock:
            if fh in self._stale_pages:
                self._stale_pages.discard(fh)
                return False
            return True

    @op
    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        out = bytearray(size)
        with memoryview(out) as view:
            n = self.read_into(path, view, offset, fh)
        return bytes(out[:n])

    @op
    def read_into(self, path: str, out: memoryview, offset: int, fh: int) -> int:
        """Fill `out` from `offset` on; the bytes read (fewer at the end of the file)."""
        return self._handle(fh).read_into(out, offset, self.reads, self.pool, self.read_blocks)

    @op
    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return self._handle(fh).write(data, offset)

    @op
    def truncate(self, path: str | None, length: int, fh: int | None = None) -> int:
        self._writable()
        if fh is not None:
            self._handle(fh).truncate(length)
            return 0
        rel = _rel(path)
        with self._lock:
            of = self._open.get(rel)
        if of is not None:
            of.truncate(length)
            self.cache.put(rel, of.entry)
            return 0
        head = self.o.head_with_etag(rel)
        if head is None:
            raise MountError(errno.ENOENT)
        of = OpenFile(rel, head[0], head[1], self.o, self.staging_dir, budget=self.memory)
        try:
            of.truncate(length)
            self._saved(of)
        finally:
            of.close()
        return 0

    @op
    def flush(self, path: str, fh: int) -> int:
        self._saved(self._handle(fh))
        return 0

    @op
    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._saved(self._handle(fh))
        return 0

    @op
    def release(self, path: str, fh: int) -> int:
        with self._lock:
            self._stale_pages.discard(fh)
            of = self._handles.pop(fh, None)
            if of is None:
                return 0
            of.refs -= 1
            last = of.refs == 0
            if last and self._open.get(of.path) is of:
                del self._open[of.path]
        if last:
            try:
                self._saved(of)  # normally done by flush already; this is the last chance
            finally:
                of.close()
        return 0

    @op
    def unlink(self, path: str) -> int:
        self._writable()
        rel = _rel(path)
        key = self.o.key(rel)
        with self._lock:
            of = self._open.get(rel)
        if of is None:
            self.o.delete(key)
        else:
            with of.lock:  # no upload of it runs meanwhile, nor after: the removed object stays removed
                of.keep_content()  # its handles keep working, on their own copy...
                self.o.delete(key)
                of.unlinked = True  # ...whose changes are never uploaded
                with self._lock:
                    if self._open.get(rel) is of:
                        del self._open[rel]
        self.cache.put(rel, None)
        return 0

    @op
    def rename(self, old: str, new: str, flags: int = 0) -> int:
        self._writable()
        src, dst = _rel(old), _rel(new)
        if flags & RENAME_EXCHANGE:
            raise MountError(errno.EINVAL, "RENAME_EXCHANGE is not supported")
        if src == "" or dst == "" or dst.startswith(src + "/"):
            raise MountError(errno.EINVAL)
        source = self._entry(src)
        target = self._lookup(dst)
        if target is not None and flags & RENAME_NOREPLACE:
            raise MountError(errno.EEXIST)
        if source.is_dir:
            self._rename_dir(src, dst, source, target)
        else:
            self._rename_file(src, dst, source, target)
        return 0

    def _rename_file(self, src: str, dst: str, source: Entry, target: Entry | None) -> None:
        if target is not None and target.is_dir:
            raise MountError(errno.EISDIR)
        self.o.key(dst)
        with self._lock:
            of = self._open.get(src)
            replaced = self._open.get(dst)
        # Both open files are held until the rename is done: an upload of either (a close meanwhile) would land
        # on a name the rename is changing, after the copy (lost) or over it (the replaced content back).
        with of.lock if of is not None else contextlib.nullcontext():
            with replaced.lock if replaced is not None else contextlib.nullcontext():
                if of is not None:
                    self._saved(of)
                    source = of.entry
                if replaced is not None:
                    replaced.keep_content()  # its handles keep the replaced content, never uploaded again
                etag = self.o.copy(self.o.key(src), self.o.key(dst))  # both names exist from here...
                self.o.delete(self.o.key(src))  # ...until here: never neither
                with self._lock:
                    if replaced is not None:
                        replaced.unlinked = True
                        if self._open.get(dst) is replaced:
                            del self._open[dst]
                    if of is not None and self._open.get(src) is of:
                        del self._open[src]
                        of.moved(dst, etag)
                        self._open[dst] = of
        self.cache.put(src, None)
        self.cache.put(dst, replace(source, etag=etag))

    def _rename_dir(self, src: str, dst: str, source: Entry, target: Entry | None) -> None:
        if target is not None:
            if not target.is_dir:
                raise MountError(errno.ENOTDIR)
            if not self.o.is_empty_dir(dst):
                raise MountError(errno.ENOTEMPTY)
        inside = src + "/"
        with self._lock:
            moving = sorted((of for p, of in self._open.items() if p.startswith(inside)), key=lambda of: of.path)
        with contextlib.ExitStack() as held:
            # the files open under it are held until the rename is done, as in _rename_file (renames take them in
            # path order, one rename at a time: the kernel serializes renames on a mount)
            for of in moving:
                held.enter_context(of.lock)
                self._saved(of)
            etags = self._move_keys(src, dst, source)
            with self._lock:
                for of in moving:
                    if self._open.get(of.path) is of:
                        del self._open[of.path]
                        moved_to = dst + of.path[len(src) :]
                        of.moved(moved_to, etags.get(self.o.key(moved_to)))
                        self._open[of.path] = of
        self.cache.forget(src)
        self.cache.forget(dst)
        self.cache.put(src, None)
        self.cache.put(dst, source)

    def _move_keys(self, src: str, dst: str, source: Entry) -> dict[str, str]:
        """Every key under ``src`` copied under ``dst``, then deleted under ``src``; the new keys' ETags.

        Each key is copied only as the version listed (CopySourceIfMatch) and deleted only while it still is that
        version (DeleteObjects with its ETag): a key written meanwhile (a close of a file opened under ``src``
        after the rename began, a PUT over S3) is copied again, never deleted unseen."""
        src_prefix, dst_prefix = self.o.dir_key(src), self.o.dir_key(dst)

        def renamed(key: str) -> str:
            return dst_prefix + key[len(src_prefix) :]

        def copy(key: str, etag: str) -> str | None:
            return self.o.copy_if(key, renamed(key), etag)

        listed = dict(self.o.keys_under(src))
        for k in listed:
            self.o.key(renamed(k)[len(self.o.target.prefix) :].rstrip("/"))  # every new name fits before any move
        if not listed:
            self.o.put_dir(dst, source.meta())
        etags: dict[str, str] = {}
        pending = listed
        for _ in range(MOVE_ROUNDS):
            moved = dict(zip(pending, self.pool.map(copy, pending, pending.values()), strict=True))
            copied = {k: pending[k] for k, etag in moved.items() if etag is not None}
            etags.update({renamed(k): etag for k, etag in moved.items() if etag is not None})
            # every copied object is under both prefixes here, then only under the new one
            changed = [k for k, etag in moved.items() if etag is None] + self.o.delete_many_if(copied)
            pending = {k: e for k in changed if (e := self.o.etag_of(k)) is not None}  # gone meanwhile: nothing to move
            if not pending:
                return etags
        raise MountError(errno.EBUSY, f"{src}: keys under it kept changing while it was renamed")

    # what is not supported says so

    def lock(self, path: str, fh: int, cmd: int, lock: Any) -> int:
        raise MountError(errno.ENOLCK, "file locks are not supported")

    def flock(self, path: str, fh: int, op: int) -> int:
        raise MountError(errno.ENOLCK, "file locks are not supported")

    def destroy(self, path: str) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
