"""`s3d mount bucket[/prefix] MOUNTPOINT` (a FUSE filesystem over the daemon's S3 API) and `s3d umount MOUNTPOINT`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from s3d.cli.connect import Daemon, add_arguments
from s3d.cli.errors import EXIT_FAILED, EXIT_OK, CliError, NoDaemon, UsageError
from s3d.mount.settings import (
    DEFAULT_ATTR_CACHE,
    DEFAULT_READ_CACHE,
    DEFAULT_TIMEOUT,
    MIB,
    MountConfigError,
    MountSettings,
    Target,
    mebibytes,
    seconds,
)

DAEMON_POLL = 0.2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "mount",
        help="mount bucket[/prefix] as a filesystem (FUSE)",
        description="Mount a bucket, or a prefix of one, at MOUNTPOINT: a FUSE filesystem that talks S3 to the daemon. "
        "Directories are prefixes and `dir/` marker objects; writes are staged in a local file and become the object "
        "on close or fsync. Runs in the foreground until `s3d umount MOUNTPOINT` (or Ctrl-C); --daemon detaches. "
        "See docs/mount.md for what is and is not POSIX.",
    )
    p.add_argument("source", metavar="bucket[/prefix]", help="the bucket, or a prefix in it, to mount")
    p.add_argument("mountpoint", metavar="MOUNTPOINT", help="an existing directory")
    p.add_argument("--read-only", action="store_true", help="refuse every change (EROFS)")
    p.add_argument("--daemon", action="store_true", help="detach once mounted")
    p.add_argument("--filter", metavar="RULES", default="",
                   help="show only the objects these filter rules include (or @PATH; docs/filters.md); patterns, size and age")  # fmt: skip
    p.add_argument("--attr-cache", metavar="SECONDS", default=str(DEFAULT_ATTR_CACHE),
                   help=f"how long attributes and listings are trusted; objects written over S3 show after at most this (default {DEFAULT_ATTR_CACHE:g})")  # fmt: skip
    p.add_argument("--timeout", metavar="SECONDS", default=str(DEFAULT_TIMEOUT),
                   help=f"an S3 call that takes longer fails with EIO, e.g. when the daemon is gone (default {DEFAULT_TIMEOUT:g})")  # fmt: skip
    p.add_argument("--wait", metavar="SECONDS", default="0",
                   help="wait up to this long for the daemon to answer (default 0: it must be running)")  # fmt: skip
    p.add_argument("--read-cache", metavar="MIB", default=str(DEFAULT_READ_CACHE // MIB),
                   help=f"memory the read caches of open files may use together, in MiB (default {DEFAULT_READ_CACHE // MIB})")  # fmt: skip
    p.add_argument("--no-local-read", dest="local_read", action="store_false",
                   help="always read over HTTP, even when the daemon's files are on this machine (docs/mount.md)")  # fmt: skip
    p.add_argument(
        "--staging",
        metavar="DIR",
        help="where writes are staged before close (default: the system's temporary directory)",
    )
    add_arguments(p)
    p.set_defaults(func=mount_command, client=True)
    u = sub.add_parser("umount", help="unmount a mount made by s3d mount",
                       description="Unmount MOUNTPOINT; also works when the daemon or the mount process is gone.")  # fmt: skip
    u.add_argument("mountpoint", metavar="MOUNTPOINT", help="the directory an s3d mount is bound to")
    u.set_defaults(func=umount_command)


def settings_from(args: argparse.Namespace) -> MountSettings:
    from s3d.mount.filtering import MountFilterError, compile_filter

    try:
        filter_ = compile_filter("--filter", args.filter)
    except MountFilterError as e:
        raise UsageError(str(e)) from None
    try:
        return MountSettings(
            Target.parse(args.source),
            Path(args.mountpoint).absolute(),
            read_only=args.read_only,
            attr_cache=seconds("--attr-cache", args.attr_cache),
            timeout=seconds("--timeout", args.timeout, positive=True),
            read_cache=mebibytes("--read-cache", args.read_cache),
            local_read=args.local_read,
            staging=Path(args.staging) if args.staging else None,
            filter=filter_,
            filter_text=args.filter,
        )
    except MountConfigError as e:
        raise UsageError(str(e)) from None


def mount_command(args: argparse.Namespace, daemon: Daemon) -> int:
    from s3d.mount.objects import make_client
    from s3d.mount.run import MountFailed, check_bucket, check_environment, detach, serve

    settings = settings_from(args)
    level = os.environ.get("S3D_LOG_LEVEL", "info").upper()  # as the daemon's
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    access_key, secret_key = daemon.credentials()
    wait_for(daemon, seconds("--wait", args.wait))
    try:
        check_environment(settings.mountpoint)
        check_bucket(make_client(daemon.endpoint, access_key, secret_key, settings.timeout, daemon.region), settings)
        if args.daemon:
            detach(
                settings,
                lambda: serve(
                    settings, make_client(daemon.endpoint, access_key, secret_key, settings.timeout, daemon.region)
                ),
            )
        else:
            serve(settings, make_client(daemon.endpoint, access_key, secret_key, settings.timeout, daemon.region))
    except MountFailed as e:
        raise CliError(str(e)) from None
    return EXIT_OK


def wait_for(daemon: Daemon, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            daemon.probe()
            return
        except NoDaemon:
            if time.monotonic() >= deadline:
                raise
            time.sleep(DAEMON_POLL)


def umount_command(args: argparse.Namespace) -> int:
    from s3d.mount.run import MountFailed, unmount

    try:
        unmount(Path(args.mountpoint).absolute())
    except MountFailed as e:
        print(f"s3d umount: {e}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
