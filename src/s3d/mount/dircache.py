"""The kernel's listing cache (FOPEN_CACHE_DIR) through libfuse's high-level API: on libfuse 3.16 and later as
it is, on 3.14 through a shim; on other versions before 3.16, not at all (a warning says so).

A filesystem asks the kernel to cache a directory's listing by setting `cache_readdir` (and `keep_cache`, to
keep what is cached) in opendir's `fuse_file_info`. libfuse before 3.16 drops them: its `fuse_lib_opendir`
gives the filesystem a copy of that struct and replies with the original (libfuse issue 821, fixed in 3.16;
Debian 12 ships 3.14). `OpendirFlags.install` fixes that from outside: it puts a shim in the session's
low-level `opendir` slot that notes, per thread, where the original struct is, and calls libfuse's own
function; the high-level opendir (fuse.py), which runs inside that call, then sets the flags on the original.

The slot lies in libfuse's private `struct fuse_session`, so the shim is installed only where its layout is
the one read in libfuse's source for that version, and only after checks against the live session (its
mount point, its /dev/fuse descriptor, and libfuse's own functions in the slots around). Anything else leaves
libfuse alone: listings then work as before, without the kernel's cache.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from typing import Any

import mfusepy

log = logging.getLogger("s3d.mount")

PASSES_OPENDIR_FLAGS = (3, 16)  # from this libfuse on, fuse_lib_opendir copies the flags itself
SESSION_OPS_OFFSET = {(3, 14): 40}  # offsetof(struct fuse_session, op): lib/fuse_i.h, 64-bit
SESSION_FD_OFFSET = 12  # offsetof(struct fuse_session, fd), after `char *mountpoint` and `int exited`
POINTER = ctypes.sizeof(ctypes.c_void_p)
OPENDIR_SLOT = 20  # index of `opendir` in struct fuse_lowlevel_ops (fuse_lowlevel.h, a public ABI)
LIBFUSE_SLOTS = (0, 1, 2, 3, 4, 5, 20, 21, 22)  # init..setattr, opendir, readdir, releasedir: set by the high level

_LowOpendir = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(mfusepy.fuse_file_info))


def _libfuse_code() -> list[tuple[int, int]]:
    """The address ranges of libfuse's executable code in this process."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and "x" in fields[1] and os.path.basename(fields[5]).startswith("libfuse3.so"):
                start, end = (int(a, 16) for a in fields[0].split("-"))
                ranges.append((start, end))
    return ranges


def _session(fuse: int) -> int | None:
    get = mfusepy._libfuse.fuse_get_session
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    session = get(fuse)
    return int(session) if session else None


class OpendirFlags:
    """The shim in the session's opendir slot, and the flags it carries to the kernel."""

    def __init__(self, original: int) -> None:
        self._original = _LowOpendir(original)
        self._current = threading.local()
        self.shim = _LowOpendir(self._opendir)  # (kept referenced: libfuse calls it for the mount's lifetime)

    def _opendir(self, req: int | None, ino: int, llfi: Any) -> None:
        self._current.fi = llfi
        try:
            self._original(req, ino, llfi)
        finally:
            self._current.fi = None

    def set(self, cache_readdir: bool, keep_cache: bool) -> None:
        """From within the high-level opendir: what libfuse will reply to the kernel."""
        llfi = getattr(self._current, "fi", None)
        if llfi:
            llfi.contents.cache_readdir = int(cache_readdir)
            llfi.contents.keep_cache = int(keep_cache)

    @classmethod
    def install(cls, mountpoint: str) -> OpendirFlags | None:
        """From the filesystem's init (libfuse's context is the session's): the shim, or None where libfuse passes
        the flags itself or the session is not laid out as expected. `mountpoint` is the real path (libfuse keeps
        that), resolved before mounting: a stat of the mount point from within init would wait for init."""
        version = (mfusepy.fuse_version_major, mfusepy.fuse_version_minor)
        if version >= PASSES_OPENDIR_FLAGS:
            return None
        ops = SESSION_OPS_OFFSET.get(version)
        context = mfusepy._libfuse.fuse_get_context()
        session = _session(context.contents.fuse) if context else None
        if ops is None or session is None:
            log.warning("libfuse %d.%d: directory listings are not cached by the kernel", *version)
            return None
        code = _libfuse_code()
        slots = [ctypes.c_void_p.from_address(session + ops + i * POINTER).value or 0 for i in LIBFUSE_SLOTS]
        fd = ctypes.c_int.from_address(session + SESSION_FD_OFFSET).value
        mounted = ctypes.c_char_p.from_address(session).value
        try:
            device = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            device = ""
        if (
            mounted != os.fsencode(mountpoint)
            or device != "/dev/fuse"
            or not all(any(start <= s < end for start, end in code) for s in slots)
        ):
            log.warning("libfuse %d.%d: unexpected session layout; listings are not cached by the kernel", *version)
            return None
        slot = ctypes.c_void_p.from_address(session + ops + OPENDIR_SLOT * POINTER)
        shim = cls(int(slot.value or 0))
        slot.value = ctypes.cast(shim.shim, ctypes.c_void_p).value  # one aligned store, before INIT is answered
        return shim
