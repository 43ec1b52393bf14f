"""`s3d prefetch` and `s3d pin`: fill the read cache from the remote (gateway mode).

They call POST /_s3d/prefetch?bucket=&prefix= and POST /_s3d/pin?bucket=&prefix=, which answer
{"objects": n, "bytes": n, "done": bool, "stopped_at_capacity": bool}. A daemon without those
endpoints answers 501 NotImplemented, which is printed as such (exit 1).
"""

from __future__ import annotations

import argparse
from typing import Any

from s3d.cli.connect import Daemon, add_arguments
from s3d.cli.errors import CliError
from s3d.cli.output import human_size, print_json
from s3d.cli.paths import object_path
from s3d.cli.progress import spinner

TIMEOUT = 3600.0
ANSWER = '{"objects": n, "bytes": n, "done": bool, "stopped_at_capacity": bool}'


def register(sub: Any) -> None:
    for name, verb, short, what in (
        (
            "prefetch",
            "prefetched",
            "fetch bucket[/prefix] into the cache",
            "fetch the objects under bucket[/prefix] from the remote into the local cache",
        ),
        (
            "pin",
            "pinned",
            "pin bucket/prefix in the cache, never evicted",
            "keep the objects under bucket/prefix in the local cache: fetched now, never evicted",
        ),
    ):
        p = sub.add_parser(name, help=short + " (gateway)",
                           description=f"Gateway mode: {what}. Calls POST /_s3d/{name}?bucket=&prefix=, which answers "
                           f"{ANSWER}. Exits 0 when done, 1 when it stopped early (the cache is full) or failed.")  # fmt: skip
        p.add_argument("path", metavar="bucket[/prefix]", help="the bucket, or a prefix in it")
        p.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
        add_arguments(p)
        p.set_defaults(func=cache_command, client=True, endpoint_name=name, verb=verb)


def cache_command(args: argparse.Namespace, daemon: Daemon) -> int:
    where = object_path(args.path)
    with spinner(f"{args.endpoint_name} {where}"):
        code, body = daemon.admin(
            "POST", args.endpoint_name, {"bucket": where.bucket, "prefix": where.key}, timeout=TIMEOUT
        )
    if args.json:
        print_json(body)
    if code != 200 or not isinstance(body, dict):
        raise CliError(f"/_s3d/{args.endpoint_name} answered {code}: {body}")
    summary = f"{args.verb} {body.get('objects', 0)} objects ({human_size(body.get('bytes', 0))}) under {where}"
    if body.get("stopped_at_capacity"):
        raise CliError(f"{summary}, then stopped: the cache is full")
    if not body.get("done", True):
        raise CliError(f"{summary}, then stopped before the end")
    if not args.json:
        print(summary)
    return 0
