"""The `[[mount]]` entries of the daemon's TOML file: mounted when the daemon starts, unmounted when it stops.

Each is an `s3d mount` child process of the daemon's main process (a session of its own, so a signal to the
daemon's process group does not reach it first), signed as the daemon's first user. It waits for the daemon to
answer before mounting. An entry's `filter` decides what it shows, else the daemon's `mount_filter`. At stop the daemon unmounts them after it stopped serving.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

from s3d.config import Settings
from s3d.mount.settings import MIB, MountSettings

log = logging.getLogger("s3d.mount")
DAEMON_WAIT = 60.0  # seconds a mount waits for the daemon to answer
STOP_WAIT = 10.0


def command(settings: Settings, m: MountSettings) -> list[str]:
    from s3d.cli.connect import endpoint_from_listen

    args = [sys.executable, "-m", "s3d", "mount", str(m.target), str(m.mountpoint),
            "--endpoint", endpoint_from_listen(settings.listen), "--wait", f"{DAEMON_WAIT:g}",
            "--attr-cache", f"{m.attr_cache:g}", "--timeout", f"{m.timeout:g}",
            "--read-cache", str(m.read_cache // MIB)]  # fmt: skip
    if m.read_only:
        args.append("--read-only")
    if not m.local_read:
        args.append("--no-local-read")
    rules = m.filter_text or (settings.mount_filter.source if settings.mount_filter is not None else "")
    if rules:
        args += ["--filter", rules]
    return args


@contextlib.contextmanager
def bound(settings: Settings) -> Iterator[None]:
    """The daemon's mounts, for as long as the block (the daemon) runs."""
    if not settings.mounts:
        yield
        return
    user = settings.users[0]
    env = dict(os.environ, S3D_ACCESS_KEY=user.access_key, S3D_SECRET_KEY=user.secret_key, S3D_REGION=settings.region)
    running: list[tuple[MountSettings, subprocess.Popen[bytes]]] = []
    for m in settings.mounts:
        running.append((m, subprocess.Popen(command(settings, m), env=env, start_new_session=True)))
        log.info("mounting %s at %s", m.target, m.mountpoint)
    try:
        yield
    finally:
        for m, proc in running:
            _stop(m, proc)


def _stop(m: MountSettings, proc: subprocess.Popen[bytes]) -> None:
    from s3d.mount.run import MountFailed, unmount

    if proc.poll() is not None:
        log.error("the mount of %s at %s had exited (%s)", m.target, m.mountpoint, proc.returncode)
        return
    try:
        unmount(m.mountpoint)
    except MountFailed as e:
        log.error("unmounting %s: %s", m.mountpoint, e)
    try:
        proc.wait(STOP_WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
