"""mfusepy's FUSE class, with the file handle passed on where libfuse 3 gives one and mfusepy drops it, and reads
copied straight into libfuse's buffer.

With `nullpath_ok` (needed so a file removed while open keeps working through its handles), operations on an
open file come with no path at all: ftruncate, fchmod, fchown and futimens then need the handle to find it.
`read` hands the operations a view of libfuse's reply buffer to fill (`read_into`), instead of bytes that
mfusepy would copy once more. `readdir` gives the kernel each entry's attributes with its name (READDIRPLUS, for
every chunk of a listing, not only the first): `ls -l` of a directory then needs no lookup per name. The kernel
caches each listing and reuses it while the mount's own listing of the directory is unchanged and fresh.
"""

from __future__ import annotations

import ctypes
import logging
import os
from typing import Any

os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")  # mfusepy would take libfuse 2 where both are installed
import mfusepy  # noqa: E402 - after the library choice

from s3d.mount.dircache import OpendirFlags  # noqa: E402 - imports mfusepy

log = logging.getLogger("s3d.mount")

Operations = mfusepy.Operations
fuse_get_context = mfusepy.fuse_get_context


FUSE_CAP_READDIRPLUS_AUTO = 1 << 14  # conn.want: the kernel asks for READDIRPLUS only now and then
FUSE_READDIR_PLUS = 1 << 0  # readdir's flags: the kernel wants attributes with the names
FUSE_FILL_DIR_PLUS = 1 << 1  # filler's flags: these attributes are whole (libfuse makes the entry from them)
FILL_FULL = 1  # the filler's answer when the reply buffer is full
NS = 10**9


def _fh(fip: Any) -> int | None:
    return int(fip.contents.fh) if fip else None


def _fill(st: Any, attrs: dict[str, Any]) -> None:
    """The stat struct from S3Filesystem's attributes (times in ns), field by field: mfusepy's set_st_attrs looks
    each name up, which a directory of 10,000 entries pays 10,000 times."""
    st.st_mode, st.st_nlink, st.st_size = attrs["st_mode"], attrs["st_nlink"], attrs["st_size"]
    st.st_blocks, st.st_blksize = attrs["st_blocks"], attrs["st_blksize"]
    st.st_uid, st.st_gid = attrs["st_uid"], attrs["st_gid"]
    for spec, key in ((st.st_mtimespec, "st_mtime"), (st.st_ctimespec, "st_ctime"), (st.st_atimespec, "st_atime")):
        spec.tv_sec, spec.tv_nsec = divmod(attrs[key], NS)


class Fuse(mfusepy.FUSE):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._listings: dict[int, list[Any]] = {}  # by directory handle: a READDIRPLUS listing, given in chunks
        self._mountpoint = os.path.realpath(args[1])  # as libfuse keeps it; resolved before it is mounted
        self._opendir_flags: OpendirFlags | None = None
        super().__init__(*args, **kwargs)  # serves until unmounted

    def _path(self, path: bytes | None) -> str | None:
        return None if path is None else path.decode(self.encoding, self.errors)

    def init_fuse_3(self, conn: Any, config: Any) -> None:
        if conn:
            conn.contents.want &= ~FUSE_CAP_READDIRPLUS_AUTO  # READDIRPLUS always (the kernel offered it)
        super().init_fuse_3(conn, config)
        if self.operations.caches_listings:
            try:
                self._opendir_flags = OpendirFlags.install(self._mountpoint)
            except Exception:  # never a reason not to mount: listings then go uncached by the kernel
                log.exception("directory listings are not cached by the kernel")

    def readdir_fuse_3(self, path: bytes | None, buf: Any, filler: Any, offset: int, fip: Any, flags: int) -> int:
        """With attributes: each entry goes with its offset, so libfuse makes the kernel's entry from it at once
        (entries given with offset 0 are buffered, and libfuse 3.14 drops their attributes). The listing is taken
        at offset 0 and kept for the handle's later chunks."""
        if not flags & FUSE_READDIR_PLUS:
            return int(super().readdir_fuse_3(path, buf, filler, offset, fip, flags))
        fh = fip.contents.fh
        items = self._listings.get(fh) if offset else None
        if items is None:
            items = self._listings[fh] = list(self.operations.readdir(self._path(path), fh))
        st = mfusepy.c_stat()  # zeroed once: the fields set below are the same for every entry
        for position in range(offset, len(items)):
            item = items[position]
            name, attrs = (item, None) if isinstance(item, str) else (item[0], item[1])
            if attrs is not None:
                _fill(st, attrs)
            fill = FUSE_FILL_DIR_PLUS if attrs is not None else 0
            encoded = name.encode(self.encoding, self.errors)
            if filler(buf, encoded, st if attrs is not None else None, position + 1, fill) == FILL_FULL:
                break
        return 0

    def opendir(self, path: bytes, fip: Any) -> int:
        """The kernel keeps each listing it is given (cache_readdir) and answers the next opendir from it for as
        long as the mount says its listing has not changed (keep_cache)."""
        fi = fip.contents
        fi.fh = self.operations.opendir(path.decode(self.encoding, self.errors))
        cache = bool(self.operations.caches_listings)
        keep = cache and bool(self.operations.keeps_listing(fi.fh))
        fi.cache_readdir, fi.keep_cache = int(cache), int(keep)
        if self._opendir_flags is not None:  # libfuse < 3.16 replies with its own struct, not `fi`
            self._opendir_flags.set(cache_readdir=cache, keep_cache=keep)
        return 0

    def releasedir(self, path: bytes | None, fip: Any) -> int:
        self._listings.pop(fip.contents.fh, None)
        return int(super().releasedir(path, fip))

    def open(self, path: bytes, fip: Any) -> int:
        fi = fip.contents
        fi.fh = self.operations.open(path.decode(self.encoding, self.errors), fi.flags)
        fi.keep_cache = 1 if self.operations.keeps_page_cache(fi.fh) else 0
        return 0

    def create(self, path: bytes, mode: int, fip: Any) -> int:
        fi = fip.contents  # (mfusepy's own looks up the operation's signature at every create)
        fi.fh = self.operations.create(path.decode(self.encoding, self.errors), mode, fi.flags)
        return 0

    def read(self, path: bytes | None, buf: Any, size: int, offset: int, fip: Any) -> int:
        address = ctypes.cast(buf, ctypes.c_void_p).value
        if not size or address is None:
            return 0
        with memoryview((ctypes.c_char * size).from_address(address)).cast("B") as out:
            return int(self.operations.read_into(self._path(path), out, offset, fip.contents.fh))

    def truncate_fuse_3(self, path: bytes | None, length: int, fip: Any) -> int:
        return int(self.operations.truncate(self._path(path), length, _fh(fip)))

    def chmod_fuse_3(self, path: bytes | None, mode: int, fip: Any) -> int:
        return int(self.operations.chmod(self._path(path), mode, _fh(fip)))

    def chown_fuse_3(self, path: bytes | None, uid: int, gid: int, fip: Any) -> int:
        uid = -1 if mfusepy.c_uid_t(uid + 1).value == 0 else uid  # -1 ("unchanged") arrives as the unsigned maximum
        gid = -1 if mfusepy.c_gid_t(gid + 1).value == 0 else gid
        return int(self.operations.chown(self._path(path), uid, gid, _fh(fip)))

    def utimens_fuse_3(self, path: bytes | None, buf: Any, fip: Any) -> int:
        times = None
        if buf:
            times = (
                mfusepy.time_of_timespec(buf.contents.actime, use_ns=True),
                mfusepy.time_of_timespec(buf.contents.modtime, use_ns=True),
            )
        return int(self.operations.utimens(self._path(path), times, _fh(fip)))

    def flock(self, path: bytes | None, fip: Any, op: int) -> int:
        return int(self.operations.flock(self._path(path), _fh(fip), op))
