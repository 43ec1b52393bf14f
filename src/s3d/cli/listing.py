"""`s3d ls`: buckets, or the objects of a bucket under a prefix."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from s3d.cli.connect import Daemon, add_arguments
from s3d.cli.output import human_size, print_json, timestamp
from s3d.cli.paths import object_path

DESCRIPTION = """\
List buckets (no argument), or the objects of a bucket under a prefix. Without -r, keys below the
next "/" are folded into one DIR line, as in a file system. Sizes are human-readable (1024-based);
--json gives exact sizes and ETags."""


def register(sub: Any) -> None:
    p = sub.add_parser("ls", help="list buckets, or objects under bucket[/prefix]", description=DESCRIPTION)
    p.add_argument("path", nargs="?", metavar="bucket[/prefix]", help="what to list (default: the buckets)")
    p.add_argument("-r", "--recursive", action="store_true", help="list every key under the prefix, not one level")
    p.add_argument("--json", action="store_true", help="print one JSON array (key, size, etag, last_modified)")
    add_arguments(p)
    p.set_defaults(func=ls, client=True)


def ls(args: argparse.Namespace, daemon: Daemon) -> int:
    s3 = daemon.s3()
    if args.path is None:
        buckets = s3.list_buckets().get("Buckets", [])
        if args.json:
            print_json([{"name": b["Name"], "created": b["CreationDate"].isoformat()} for b in buckets])
        for b in buckets if not args.json else []:
            print(f"{timestamp(b['CreationDate'])}  {b['Name']}")
        return 0
    where = object_path(args.path)
    entries = _entries(s3, where.bucket, where.key, None if args.recursive else "/")
    if args.json:
        print_json([{**e, "last_modified": e["last_modified"].isoformat()} if "key" in e else e for e in entries])
        return 0
    for e in entries:
        if "prefix" in e:
            print(f"{'':19}  {'DIR':>10}  {e['prefix']}")
        else:
            print(f"{timestamp(e['last_modified'])}  {human_size(e['size']):>10}  {e['key']}")
    return 0


def _entries(s3: Any, bucket: str, prefix: str, delimiter: str | None) -> Iterator[dict[str, Any]]:
    """Common prefixes and objects in key order, one page at a time."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        kwargs["Delimiter"] = delimiter
    for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
        found: list[tuple[str, dict[str, Any]]] = []
        for cp in page.get("CommonPrefixes", []):
            found.append((cp["Prefix"], {"prefix": cp["Prefix"]}))
        for o in page.get("Contents", []):
            entry = {
                "key": o["Key"],
                "size": o["Size"],
                "etag": o["ETag"].strip('"'),
                "last_modified": o["LastModified"],
            }
            found.append((o["Key"], entry))
        for _, entry in sorted(found, key=lambda f: f[0]):
            yield entry
