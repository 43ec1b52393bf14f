"""The folder side: scanning it, and writing files into it atomically.

Paths are relative to the folder, '/'-separated; a directory's path ends in '/'. Names that begin
with ``.s3d-sync`` belong to the sync (its marker and its temporary files) and are never synced.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("s3d.sync")

INTERNAL = ".s3d-sync"  # names that begin with this are the sync's own
MARKER = ".s3d-sync"  # the folder's marker: without it a folder that has been synced is not trusted
TEMP = ".s3d-sync.tmp."  # files being written from the bucket, renamed into place when complete
MARKER_TEXT = b"This folder is kept in sync with a bucket by s3d. Do not delete this file.\n"
DIR_MODE = 0o755
FILE_MODE = 0o644


@dataclass(frozen=True, slots=True)
class LocalEntry:
    size: int
    mtime_ns: int
    is_dir: bool = False


DIR_ENTRY = LocalEntry(0, 0, True)


def fs_path(root: Path, path: str) -> Path:
    return root / path.rstrip("/") if path.endswith("/") else root / path


def scan(root: Path, dir_markers: set[str], skipped: set[str]) -> dict[str, LocalEntry]:
    """Every regular file, and every directory that is empty or has a marker object in the bucket.

    Symlinks, sockets, FIFOs, devices and names that are not UTF-8 are skipped, logged once each
    (``skipped`` remembers them). Raises FileNotFoundError when the folder itself is gone.
    """
    out: dict[str, LocalEntry] = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        has_children = False
        try:
            it = os.scandir(root / rel if rel else root)
        except FileNotFoundError:
            if not rel:
                raise
            continue  # removed while we looked
        with it:
            for e in it:
                if e.name.startswith(INTERNAL):
                    continue
                has_children = True
                path = rel + e.name
                if not _utf8(e.name):
                    skip_once(skipped, path, "its name is not UTF-8")
                elif e.is_symlink():
                    skip_once(skipped, path, "it is a symbolic link")
                elif e.is_dir(follow_symlinks=False):
                    stack.append(path + "/")
                elif e.is_file(follow_symlinks=False):
                    try:
                        st = e.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    out[path] = LocalEntry(st.st_size, st.st_mtime_ns)
                else:
                    skip_once(skipped, path, "it is not a regular file (socket, FIFO or device)")
        if rel and (not has_children or rel in dir_markers):
            out[rel] = DIR_ENTRY
    return out


def _utf8(name: str) -> bool:
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def skip_once(skipped: set[str], path: str, why: str) -> None:
    if path not in skipped:
        skipped.add(path)
        log.warning("sync skips %s: %s", path, why)


def lstat_entry(root: Path, path: str) -> LocalEntry | None:
    """The path as it is now (None: absent, or not what a scan would report)."""
    try:
        st = os.lstat(fs_path(root, path))
    except (FileNotFoundError, NotADirectoryError):
        return None
    if path.endswith("/"):
        return DIR_ENTRY if stat.S_ISDIR(st.st_mode) else None
    return LocalEntry(st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


def open_for_writing(fd: int) -> bool:
    """Whether any process has the file open for writing (``fd`` is our read-only descriptor).

    A read lease is refused (EAGAIN) exactly then. It is released at once: held, it would make a
    writer's open wait. Where leases are not available (another owner, some filesystems) this says
    False and the quiet period alone decides.
    """
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as e:
        return e.errno == errno.EAGAIN
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    return False


def ensure_marker(root: Path) -> None:
    path = root / MARKER
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.write(fd, MARKER_TEXT)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(root)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(root: Path) -> int:
    """Temporary files left by a write that never finished (the daemon stopped mid-download)."""
    removed = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.startswith(TEMP):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


def mkdirs(root: Path, parent: Path) -> None:
    """Create a directory and its parents inside the folder (never the folder itself: it must exist)."""
    if not root.is_dir():
        raise FileNotFoundError(f"sync folder {root} is gone")
    parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


class Incoming:
    """A file being written into the folder: a temporary name in the same directory, then fsync and rename."""

    def __init__(self, root: Path, path: str) -> None:
        self.root = root
        self.target = fs_path(root, path)
        mkdirs(root, self.target.parent)
        self.temp = self.target.parent / f"{TEMP}{secrets.token_hex(8)}"
        self.fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        self.size = 0

    def write(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
            self.size += n

    def finish(self, mtime_ns: int, still_expected: Callable[[], bool]) -> LocalEntry | None:
        """fsync, set the mtime, rename over the target if it is still what the plan saw, fsync the directory.

        None (and nothing changed) when the target changed meanwhile.
        """
        os.fsync(self.fd)
        os.utime(self.fd, ns=(mtime_ns, mtime_ns))
        st = os.fstat(self.fd)
        os.close(self.fd)
        self.fd = -1
        if not still_expected():
            os.unlink(self.temp)
            return None
        os.replace(self.temp, self.target)
        fsync_dir(self.target.parent)
        return LocalEntry(st.st_size, st.st_mtime_ns)

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass


def prune_empty_parents(root: Path, path: str, keep: Callable[[str], bool]) -> None:
    """After a file was removed because the bucket removed it: drop directories it leaves empty,
    unless they are synced directories themselves (``keep``)."""
    parts = path.rstrip("/").split("/")[:-1]
    while parts:
        rel = "/".join(parts) + "/"
        if keep(rel):
            return
        try:
            os.rmdir(root / rel.rstrip("/"))
        except OSError:
            return
        parts.pop()
