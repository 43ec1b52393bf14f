"""mfusepy's FUSE class, with the file handle passed on where libfuse 3 gives one and mfusepy drops it, and reads
copied straight into libfuse's buffer.

With `nullpath_ok` (needed so a file removed while open keeps working through its handles), operations on an
open file come with no path at all: ftruncate, fchmod, fchown and futimens then need the handle to find it.
`read` hands the operations a view of libfuse's reply buffer to fill (`read_into`), instead of bytes that
mfusepy would copy once more.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")  # mfusepy would take libfuse 2 where both are installed
import mfusepy  # noqa: E402 - after the library choice

Operations = mfusepy.Operations
fuse_get_context = mfusepy.fuse_get_context


def _fh(fip: Any) -> int | None:
    return int(fip.contents.fh) if fip else None


class Fuse(mfusepy.FUSE):  # type: ignore[misc]
    def _path(self, path: bytes | None) -> str | None:
        return None if path is None else path.decode(self.encoding, self.errors)

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
