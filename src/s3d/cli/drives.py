"""`s3d drives` (the erasure-coded pool's drives and healing), `s3d scrub`, `s3d drive replace`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from s3d import config
from s3d.cli.daemon import SETTINGS_FLAGS
from s3d.cli.output import human_size, print_json, table, timestamp

DRIVES_DESCRIPTION = """\
The erasure-coded pool of a daemon run with --drives: the state of each drive (ok, failed, full,
missing), whether the pool is degraded, blobs queued for healing, shards healed and blobs lost, and the
scrub's progress. Read from the status the running daemon keeps in its data dir. Exit 1 if the pool is
degraded or has lost blobs."""

SCRUB_DESCRIPTION = """\
Show the background scrub's progress; with --now, ask the running daemon for a full pass at once
(not held to scrub_bytes_per_second) and wait for its end. Exit 1 if blobs are lost or the wait timed out."""

REPLACE_DESCRIPTION = """\
Rebuild a replaced drive: with the daemon stopped, every shard the pool placed on OLD is rebuilt from the
other drives onto NEW (an empty directory, e.g. the mount point of the new disk). Then run the daemon with
NEW in place of OLD in --drives. A daemon started with NEW in place of OLD rebuilds it too, by its scrub."""

WAIT_STEP = 0.2


def register(sub: Any) -> None:
    d = sub.add_parser("drives", help="state of the erasure-coded pool's drives", description=DRIVES_DESCRIPTION)
    d.add_argument("--data", help="data directory (also S3D_DATA; default ./s3d-data)")
    d.add_argument("--json", action="store_true", help="print the status document as JSON")
    d.set_defaults(func=drives_command)

    s = sub.add_parser(
        "scrub", help="scrub progress; --now: a full verify-and-heal pass", description=SCRUB_DESCRIPTION
    )
    s.add_argument("--data", help="data directory (also S3D_DATA; default ./s3d-data)")
    s.add_argument("--now", action="store_true", help="start a full pass now and wait for it to end")
    s.add_argument(
        "--timeout", type=float, default=3600.0, metavar="SECONDS", help="--now: give up after (default 3600)"
    )
    s.set_defaults(func=scrub_command)

    r = sub.add_parser("drive", help="`s3d drive replace OLD NEW`: rebuild a replaced drive",
                       description="Manage the erasure-coded pool's drives: `s3d drive replace OLD NEW`.")  # fmt: skip
    inner = r.add_subparsers(dest="drive_command", metavar="COMMAND", required=True, help="replace")
    rep = inner.add_parser(
        "replace", help="rebuild OLD's shards onto NEW (daemon stopped)", description=REPLACE_DESCRIPTION
    )
    rep.add_argument("old", help="the drive directory being replaced, as given in --drives")
    rep.add_argument("new", help="the new, empty drive directory")
    rep.add_argument("--config", help="TOML settings file (also S3D_CONFIG)")
    rep.add_argument("--data", help="data directory (also S3D_DATA; default ./s3d-data)")
    rep.add_argument("--drives", metavar="DIR1,DIR2,...", help="the pool's drives, OLD among them (also S3D_DRIVES)")
    rep.add_argument("--erasure", metavar="K+M", help="the pool's K+M (also S3D_ERASURE)")
    rep.set_defaults(func=replace_command)


def _data(args: argparse.Namespace) -> Path:
    return config.load({"data": args.data}).data


def _status(data: Path) -> dict[str, Any]:
    from s3d.store.erasure.service import read_status

    doc = read_status(data)
    if doc is None:
        raise config.ConfigError(f"no pool status in {data}: is a daemon running there with --drives?")
    return doc


def _unhealthy(doc: dict[str, Any]) -> bool:
    return bool(doc["degraded"] or doc["heal"]["lost_blobs"])


def drives_command(args: argparse.Namespace) -> int:
    try:
        doc = _status(_data(args))
    except config.ConfigError as e:
        print(f"s3d: {e}", file=sys.stderr)
        return 2
    if args.json:
        print_json(doc)
        return 1 if _unhealthy(doc) else 0
    print(table(["DRIVE", "STATE", "REASON"], [[d["path"], d["state"], d["reason"]] for d in doc["drives"]]))
    heal, scrub = doc["heal"], doc["scrub"]
    print(
        f"\npool {doc['erasure']}: {'DEGRADED' if doc['degraded'] else 'healthy'}; {doc['queued']} blobs queued for healing"
    )
    print(f"healed: {heal['healed_shards']} shards of {heal['healed_blobs']} blobs; "
          f"damaged shards found: {heal['damaged_shards']}; blobs lost: {len(heal['lost_blobs'])}")  # fmt: skip
    print(_scrub_line(scrub))
    return 1 if _unhealthy(doc) else 0


def _scrub_line(scrub: dict[str, Any]) -> str:
    state = f"running {scrub['done']}/{scrub['total']} blobs" if scrub["running"] else "idle"
    return (f"scrub: {state}, {scrub['passes']} passes done, last ended {timestamp(scrub['last_pass_end'])}, "
            f"{human_size(scrub['bytes_read'])} read this pass")  # fmt: skip


def scrub_command(args: argparse.Namespace) -> int:
    from s3d.store.erasure.service import SCRUB_REQUEST

    try:
        data = _data(args)
        before = _status(data)
    except config.ConfigError as e:
        print(f"s3d: {e}", file=sys.stderr)
        return 2
    if not args.now:
        print(_scrub_line(before["scrub"]))
        return 1 if before["heal"]["lost_blobs"] else 0
    (data / SCRUB_REQUEST).touch()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP)
        doc = _status(data)
        if doc["scrub"]["passes"] > before["scrub"]["passes"] and not (data / SCRUB_REQUEST).exists():
            print(_scrub_line(doc["scrub"]))
            heal = doc["heal"]
            print(
                f"healed: {heal['healed_shards']} shards of {heal['healed_blobs']} blobs; blobs lost: {len(heal['lost_blobs'])}"
            )
            return 1 if heal["lost_blobs"] else 0
    print("s3d scrub: the pass did not end within --timeout", file=sys.stderr)
    return 1


def replace_command(args: argparse.Namespace) -> int:
    from s3d.store.erasure.replace import ReplaceError, replace_drive
    from s3d.store.recovery import DataDirError

    try:
        flags = {k: getattr(args, k, None) for k in SETTINGS_FLAGS}
        settings = config.load(flags)
        if settings.layout is None:
            raise config.ConfigError("drive replace needs the pool's --drives and --erasure")
        done = replace_drive(settings.data, settings.layout, Path(args.old), Path(args.new))
    except (config.ConfigError, DataDirError, ReplaceError) as e:
        print(f"s3d: {e}", file=sys.stderr)
        return 2
    print(f"rebuilt {done.healed_shards} shards onto {args.new} ({human_size(done.bytes_written)}); "
          f"blobs lost: {len(done.lost_blobs)}. Now run the daemon with {args.new} in place of {args.old} in --drives.")  # fmt: skip
    return 1 if done.lost_blobs else 0
