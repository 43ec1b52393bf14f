"""The kernel's read-ahead for the mount: FUSE mounts start at 128 KiB, so the kernel asks for at most 128 KiB
per read request however large the application's reads are. Raised to the read block, the requests are 1 MiB.

Setting it needs write access to /sys/class/bdi (root, and a /sys that is not read-only in a container); without
it the mount works the same, with smaller requests.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("s3d.mount")

MOUNTINFO = Path("/proc/self/mountinfo")
BDI = Path("/sys/class/bdi")
KIB = 1024


def device_of(mountpoint: Path, mountinfo: str) -> str | None:
    """The "major:minor" of the mount at `mountpoint` (the last one mounted there), from /proc/self/mountinfo."""
    found = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4 and _unescape(fields[4]) == str(mountpoint):
            found = fields[2]
    return found


def _unescape(path: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def set_read_ahead(mountpoint: Path, size: int) -> bool:
    """Let the kernel read ahead `size` bytes on this mount; False (and a debug line) where it may not."""
    try:
        device = device_of(mountpoint, MOUNTINFO.read_text())
        if device is None:
            log.debug("read-ahead left as is: %s is not in %s", mountpoint, MOUNTINFO)
            return False
        (BDI / device / "read_ahead_kb").write_text(str(size // KIB))
    except OSError as e:
        log.debug("read-ahead left as is: %s", e)
        return False
    return True
