"""`s3d sync status`: the daemon's sync pairs (folders kept in sync with buckets; docs/sync.md).

Calls GET /_s3d/sync, which answers {"pairs": [{"dir", "bucket", "prefix", "files", "bytes",
"pending_up", "pending_down", "conflicts", "paused", "last_error", "last_full_scan", ...}]}.
Exits 0 when every pair is healthy, 1 when one is paused or its last run reported an error.
"""

from __future__ import annotations

import argparse
from typing import Any

from s3d.cli.connect import Daemon, add_arguments
from s3d.cli.errors import CliError
from s3d.cli.output import human_size, print_json, table, timestamp

DESCRIPTION = """\
List the folders the daemon keeps in sync with buckets (s3d run --sync DIR=bucket[/prefix]): files
and bytes in sync, changes waiting to go up or down, conflicts kept so far, the last error and the
last full scan. Exits 1 when a pair is paused or its last run reported an error. --json prints the
daemon's /_s3d/sync document as is."""


def register(sub: Any) -> None:
    p = sub.add_parser("sync", help="the sync directory: `s3d sync status`", description=DESCRIPTION)
    inner = p.add_subparsers(dest="sync_command", metavar="SUBCOMMAND", required=True, help="status")
    st = inner.add_parser("status", help="list the sync pairs and their state", description=DESCRIPTION)
    st.add_argument("--json", action="store_true", help="print the /_s3d/sync JSON document")
    add_arguments(st)
    st.set_defaults(func=status_command, client=True)


def status_command(args: argparse.Namespace, daemon: Daemon) -> int:
    code, body = daemon.admin("GET", "sync")
    if code != 200 or not isinstance(body, dict):
        raise CliError(f"/_s3d/sync answered {code}: {body}")
    pairs: list[dict[str, Any]] = body.get("pairs", [])
    if args.json:
        print_json(body)
    elif not pairs:
        print("no sync pairs (s3d run --sync DIR=bucket[/prefix])")
    else:
        rows = [
            [p["dir"], f"{p['bucket']}/{p['prefix']}", p["direction"], p["files"], human_size(p["bytes"]),
             p["pending_up"], p["pending_down"], p["conflicts"], timestamp(p.get("last_full_scan")),
             ("PAUSED: " if p.get("paused") else "") + (p.get("last_error") or "-") if not p.get("healthy") else "ok"]
            for p in pairs
        ]  # fmt: skip
        print(table(["folder", "bucket/prefix", "direction", "files", "bytes", "up", "down", "conflicts",
                     "last scan", "state"], rows, right=(3, 4, 5, 6, 7)))  # fmt: skip
    return 0 if all(p.get("healthy") for p in pairs) else 1
