"""Mounting (in the foreground, or detached), and unmounting."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from s3d.mount.settings import MountSettings

log = logging.getLogger("s3d.mount")

FUSERMOUNT = "fusermount3"
MOUNTED_WAIT = 15.0  # seconds a detached mount may take to appear
POLL = 0.05
FUSE_DEVICE = Path("/dev/fuse")


class MountFailed(Exception):
    """The mount could not be made or removed; the message says why, in one line."""


def check_environment(mountpoint: Path) -> None:
    if not FUSE_DEVICE.exists():
        raise MountFailed(
            f"{FUSE_DEVICE} is missing: FUSE is not available here (load the fuse module, or give the container the device)"
        )
    if shutil.which(FUSERMOUNT) is None:
        raise MountFailed(f"{FUSERMOUNT} is missing: install fuse3")
    if not mountpoint.is_dir():
        raise MountFailed(f"mount point {mountpoint} is not a directory")
    if os.path.ismount(mountpoint):
        raise MountFailed(f"{mountpoint} is already a mount point")


def check_bucket(client: Any, settings: MountSettings) -> None:
    """Fail at mount time, in one line, when the bucket does not exist (AccessDenied is left to each call: EACCES)."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=settings.target.bucket)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code") or e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if str(code) in ("404", "NoSuchBucket"):
            raise MountFailed(f"no bucket {settings.target.bucket!r}") from None
        if str(code) in ("403", "AccessDenied"):
            log.warning(
                "bucket %s: access denied; calls the daemon refuses will fail with EACCES", settings.target.bucket
            )
            return
        raise


def serve(settings: MountSettings, client: Any) -> None:
    """Mount and serve until unmounted (or SIGINT/SIGTERM); staged files live in a private directory."""
    from s3d.mount.fs import S3Filesystem
    from s3d.mount.fuse import Fuse
    from s3d.mount.objects import Objects

    staging = Path(tempfile.mkdtemp(prefix="s3d-mount-", dir=settings.staging))
    ttl = settings.attr_cache
    options: dict[str, Any] = {
        "fsname": f"s3d:{settings.target}",
        "subtype": "s3d",
        "attr_timeout": ttl,
        "entry_timeout": ttl,
        "negative_timeout": ttl,
        "hard_remove": True,  # unlink means delete, also while open (no .fuse_hidden objects)
    }
    if settings.read_only:
        options["ro"] = True
    try:
        fs = S3Filesystem(Objects(client, settings), settings, staging)
        Fuse(fs, str(settings.mountpoint), foreground=True, **options)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def detach(settings: MountSettings, start: Any) -> None:
    """Fork; the child serves the mount in a session of its own, the parent returns once it is mounted."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            start()
        except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
            log.exception("mount of %s failed", settings.mountpoint)
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + MOUNTED_WAIT
    while time.monotonic() < deadline:
        if os.path.ismount(settings.mountpoint):
            return
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            raise MountFailed(f"the mount process exited ({os.waitstatus_to_exitcode(status)}) before mounting")
        time.sleep(POLL)
    raise MountFailed(f"{settings.mountpoint} was not mounted within {MOUNTED_WAIT:g}s")


def unmount(mountpoint: Path) -> None:
    """Unmount; a mount whose process is gone or stuck still comes off (lazily when busy)."""
    if shutil.which(FUSERMOUNT) is None:
        raise MountFailed(f"{FUSERMOUNT} is missing: install fuse3")
    r = subprocess.run([FUSERMOUNT, "-u", str(mountpoint)], capture_output=True, text=True)
    if r.returncode == 0:
        return
    if "not found in" in r.stderr or "not mounted" in r.stderr:
        raise MountFailed(f"{mountpoint} is not mounted")
    lazy = subprocess.run([FUSERMOUNT, "-u", "-z", str(mountpoint)], capture_output=True, text=True)
    if lazy.returncode != 0:
        raise MountFailed((lazy.stderr or r.stderr).strip() or f"{FUSERMOUNT} failed on {mountpoint}")
