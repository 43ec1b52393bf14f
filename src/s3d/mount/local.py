"""Reads of one object version straight from the daemon's blob files, when the mount runs beside the daemon.

The daemon named the files in its answer to the open's HEAD (s3d.local_read). They are all opened at the first
read, so the version stays readable as a whole however soon it is replaced; if one cannot be opened or is not
what the daemon said (another machine, another container, another user, or replaced already), `open_local`
gives None and the file is read over HTTP instead. A read is a `preadv` per file it spans: the kernel's page
cache is the cache, and its read-ahead on the blob files serves sequential reads.
"""

from __future__ import annotations

import bisect
import os
import stat
import threading

from s3d.local_read import LocalSpan
from s3d.mount.reader import ReaderClosed


class LocalReader:
    def __init__(self, fds: list[int], sizes: list[int]) -> None:
        self._fds = fds
        self._sizes = sizes
        self._starts = [0]
        for n in sizes:
            self._starts.append(self._starts[-1] + n)
        self.size = self._starts[-1]
        self._lock = threading.Lock()
        self._busy = 0  # reads running: the files are closed once none is (an fd number is never reused mid-read)
        self._closed = False

    def read_into(self, out: memoryview, offset: int) -> int:
        """Fill `out` with the object's bytes from `offset` on; the bytes read (fewer at the end)."""
        with self._lock:
            if self._closed:
                raise ReaderClosed
            self._busy += 1
        try:
            return self._read(out, offset)
        finally:
            with self._lock:
                self._busy -= 1
                if self._closed and not self._busy:
                    self._close_files()

    def _read(self, out: memoryview, offset: int) -> int:
        end = min(offset + len(out), self.size)
        at, pos = 0, offset
        i = bisect.bisect_right(self._starts, offset) - 1
        while pos < end:
            within = pos - self._starts[i]
            take = min(self._sizes[i] - within, end - pos)
            got = os.preadv(self._fds[i], [out[at : at + take]], within)
            if got <= 0:
                raise OSError(f"blob file shorter than the daemon said ({within + got} < {self._sizes[i]})")
            at, pos = at + got, pos + got
            if pos == self._starts[i + 1]:
                i += 1
        return at

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if not self._busy:
                self._close_files()

    def _close_files(self) -> None:
        """Under the lock, once closed and idle."""
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)


def open_local(spans: tuple[LocalSpan, ...], size: int) -> LocalReader | None:
    """A reader over the files, if every one opens as a regular file of the length named and they add up to `size`."""
    if sum(s.size for s in spans) != size:
        return None
    fds: list[int] = []
    try:
        for s in spans:
            fd = os.open(s.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            fds.append(fd)
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size != s.size:
                raise OSError(f"{s.path} is not the blob the daemon named")
    except OSError:
        for fd in fds:
            os.close(fd)
        return None
    return LocalReader(fds, [s.size for s in spans])
