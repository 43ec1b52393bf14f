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

from s3d.object_keys import is_utf8

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
OTHER = LocalEntry(
    -1, -1
)  # something a scan does not report: a symlink, a socket, a directory where a file is expected


class Occupied(OSError):
    """A path the sync cannot write: a symlink on the way (it would lead out of the folder), or a
    name held by something it does not handle (a link, a file where a directory is wanted, ...)."""


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
                if not is_utf8(e.name):
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


def skip_once(skipped: set[str], path: str, why: str) -> None:
    if path not in skipped:
        skipped.add(path)
        log.warning("sync skips %s: %s", path, why)


def _split(path: str) -> tuple[list[str], str]:
    parts = path.rstrip("/").split("/")
    return parts[:-1], parts[-1]


def open_dir(root: Path, parts: list[str], create: bool = False) -> int:
    """A descriptor of the directory ``root/parts...``, each part opened without following a symlink,
    so nothing below the root can lead out of the folder (Occupied if something would); ``create``
    makes the missing ones."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        for i, name in enumerate(parts):
            try:
                try:
                    sub = os.open(name, flags, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(name, DIR_MODE, dir_fd=fd)
                    except FileExistsError:
                        pass
                    sub = os.open(name, flags, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    where = "/".join(parts[: i + 1])
                    raise Occupied(e.errno, f"{where} is not a directory of the folder (a symlink or a file)") from None
                raise
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return fd


def lstat_entry(root: Path, path: str) -> LocalEntry | None:
    """The path as it is now: None when absent, OTHER when taken by what a scan does not report
    (a symlink anywhere on the way included)."""
    parents, name = _split(path)
    try:
        fd = open_dir(root, parents)
    except Occupied:
        return OTHER
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    finally:
        os.close(fd)
    if path.endswith("/"):
        return DIR_ENTRY if stat.S_ISDIR(st.st_mode) else OTHER
    return LocalEntry(st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else OTHER


def open_file(root: Path, path: str) -> int:
    """The file opened for reading, without following a symlink on the way (OSError otherwise)."""
    parents, name = _split(path)
    fd = open_dir(root, parents)
    try:
        return os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    finally:
        os.close(fd)


def remove(root: Path, path: str) -> None:
    """Unlink a file or remove an (empty) directory, without following a symlink on the way."""
    parents, name = _split(path)
    fd = open_dir(root, parents)
    try:
        if path.endswith("/"):
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)
        os.fsync(fd)
    finally:
        os.close(fd)


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


def being_written(root: Path, path: str) -> bool:
    """Whether some process has the file open for writing: replaced or removed now, what it writes
    next would go to a file no longer in the folder."""
    try:
        fd = open_file(root, path)
    except OSError:
        return False
    try:
        return open_for_writing(fd)
    finally:
        os.close(fd)


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


def mkdirs(root: Path, path: str) -> None:
    """Create a directory and its parents inside the folder (never the folder itself: it must exist)."""
    os.close(open_dir(root, path.rstrip("/").split("/"), create=True))


class Incoming:
    """A file being written into the folder: a temporary name in the same directory, then fsync and rename."""

    def __init__(self, root: Path, path: str) -> None:
        self.root = root
        self.path = path
        parents, self.name = _split(path)
        self.dir_fd = open_dir(root, parents, create=True)  # the directory, wherever a symlink might point
        self.temp = f"{TEMP}{secrets.token_hex(8)}"
        try:
            self.fd = os.open(
                self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE, dir_fd=self.dir_fd
            )
        except BaseException:
            os.close(self.dir_fd)
            raise
        self.size = 0

    def write(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
            self.size += n

    def finish(self, mtime_ns: int, expected: LocalEntry | None) -> LocalEntry | None:
        """fsync, set the mtime, rename over the target if it is still what the plan saw (``expected``),
        fsync the directory; then the descriptors are closed.

        None (and nothing changed) when the target changed meanwhile; Occupied when its name is held by
        something the sync does not handle (a symlink, a directory).
        """
        os.fsync(self.fd)
        os.utime(self.fd, ns=(mtime_ns, mtime_ns))
        st = os.fstat(self.fd)
        os.close(self.fd)
        self.fd = -1
        try:
            now = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
            current: LocalEntry | None = (
                LocalEntry(now.st_size, now.st_mtime_ns) if stat.S_ISREG(now.st_mode) else OTHER
            )
        except FileNotFoundError:
            current = None
        if current != expected or (current is not None and being_written(self.root, self.path)):
            self.discard()
            if current is OTHER:
                raise Occupied(errno.EEXIST, f"{self.path} is taken by a symlink, a directory or a special file")
            return None
        os.replace(self.temp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        os.fsync(self.dir_fd)
        os.close(self.dir_fd)
        self.dir_fd = -1
        return LocalEntry(st.st_size, st.st_mtime_ns)

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.dir_fd >= 0:
            try:
                os.unlink(self.temp, dir_fd=self.dir_fd)
            except FileNotFoundError:
                pass
            os.close(self.dir_fd)
            self.dir_fd = -1


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
