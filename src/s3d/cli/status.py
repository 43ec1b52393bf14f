"""`s3d status` (what the daemon holds and, in gateway mode, how far behind the remote is) and `s3d flush`."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from s3d.cli.connect import Daemon, add_arguments
from s3d.cli.errors import CliError, UsageError
from s3d.cli.output import human_duration, human_size, plural, print_json, table, timestamp
from s3d.cli.progress import countdown

STATUS_DESCRIPTION = """\
Summarize the daemon: journal LSN, buckets, objects, bytes, free disk. In gateway mode also the
high-water mark (HWM: every change up to it is on the remote), the lag (records, bytes and age of the
oldest change not yet shipped), failed records, and whether the remote is reachable (and since when
it is not), per bucket and in total. --json prints the daemon's /_s3d/status document as is."""

MAX_FLUSH_TIMEOUT = 3600.0  # what the daemon's POST /_s3d/flush accepts (s3d.admin.endpoints)
FLUSH_DESCRIPTION = """\
Gateway mode: wait until every change made so far (to one bucket, if given) is on the remote.
Exits 0 once flushed, 1 if --timeout passes first (with what is still pending) or the daemon runs
without a remote."""


def register(sub: Any) -> None:
    st = sub.add_parser(
        "status", help="summarize the daemon (gateway: LSN, HWM, lag, remote)", description=STATUS_DESCRIPTION
    )
    st.add_argument("--json", action="store_true", help="print the /_s3d/status JSON document")
    st.add_argument("--watch", action="store_true", help="refresh until interrupted (Ctrl-C)")
    st.add_argument("--interval", type=float, default=2.0, metavar="SECONDS", help="--watch refresh period (default 2)")
    st.add_argument("--count", type=int, metavar="N", help="with --watch, stop after N refreshes")
    add_arguments(st)
    st.set_defaults(func=status_command, client=True)

    fl = sub.add_parser(
        "flush", help="wait until local changes are on the remote (gateway mode)", description=FLUSH_DESCRIPTION
    )
    fl.add_argument("bucket", nargs="?", help="flush only this bucket's changes")
    fl.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="give up after this long (default 300, at most 3600)",
    )
    fl.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    add_arguments(fl)
    fl.set_defaults(func=flush_command, client=True)


def fetch_status(daemon: Daemon) -> dict[str, Any]:
    code, body = daemon.admin("GET", "status")
    if code != 200:
        raise CliError(f"/_s3d/status answered {code}")
    return body  # type: ignore[no-any-return]


def _lag(d: dict[str, Any]) -> str:
    n = int(d.get("pending_records", 0))
    if not n:
        return "none: every change is on the remote"
    age = human_duration(d.get("oldest_pending_age_s") or 0)
    return f"{plural(n, 'record')}, {human_size(d.get('pending_bytes', 0))}, oldest {age}"


def _remote_line(s: dict[str, Any]) -> str:
    reachable = s.get("remote_reachable")
    if reachable is None:
        return "not contacted yet"
    if reachable:
        return "reachable"
    since = s.get("remote_down_since")
    line = "UNREACHABLE"
    if since:
        line += f" since {timestamp(since)} ({human_duration(time.time() - since)})"
    if s.get("remote_error"):
        line += f": {s['remote_error']}"
    return line


Column = tuple[str, Callable[[dict[str, Any]], object]]
COLUMNS: list[Column] = [
    ("OBJECTS", lambda d: d.get("objects", 0)),
    ("SIZE", lambda d: human_size(d.get("bytes", 0))),
]
GATEWAY_COLUMNS: list[Column] = [
    ("PENDING", lambda d: d.get("pending_records", 0)),
    ("PENDING SIZE", lambda d: human_size(d.get("pending_bytes", 0))),
    ("OLDEST", lambda d: human_duration(d.get("oldest_pending_age_s") or 0)),
    ("FAILED", lambda d: d.get("failed_records", 0)),
]


def render(s: dict[str, Any], endpoint: str) -> str:
    gateway = s.get("mode") == "gateway"
    lines = [
        f"s3d at {endpoint}: " + (f"gateway mode, remote {s.get('remote')}" if gateway else "local mode (no remote)")
    ]
    rows: list[tuple[str, str]] = []
    if gateway:
        rows.append(("remote", _remote_line(s)))
        if s.get("remote_conditional_writes") is False:
            rows.append(("conflicts", "cannot be detected: the remote ignores conditional writes (last writer wins)"))
        refreshed = s.get("remote_refreshed_at")
        rows.append(
            (
                "listed",
                f"{timestamp(refreshed)} ({human_duration(time.time() - refreshed)} ago)" if refreshed else "not yet",
            )
        )
        rows.append(("journal", f"LSN {s.get('lsn')}, HWM {s.get('hwm')}"))
        rows.append(("lag", _lag(s)))
        rows.append(("failed", plural(int(s.get("failed_records", 0)), "record")))
        if s.get("capacity_bytes"):
            rows.append(
                ("unshipped", f"{human_size(s.get('dirty_bytes', 0))} of {human_size(s['capacity_bytes'])} capacity")
            )
        if "held_by_filter_objects" in s:
            held = [f"{plural(int(s[f'held_by_{by}_objects']), 'object')} ({human_size(s[f'held_by_{by}_bytes'])}) by {name}"
                    for by, name in (("filter", "upload_filter"), ("tag", "s3d.upload=false"))]  # fmt: skip
            rows.append(("held", ", ".join(held)))
    else:
        rows.append(("journal", f"LSN {s.get('lsn')}"))
    rows.append(("stored", f"{s.get('objects', 0)} objects, {human_size(s.get('bytes', 0))}"))
    rows.append(("disk free", human_size(s.get("disk_free_bytes", 0))))
    lines += [f"  {k:<10} {v}" for k, v in rows]
    columns = COLUMNS + (GATEWAY_COLUMNS if gateway else [])
    header = ["BUCKET"] + [name for name, _ in columns]
    table_rows: list[list[object]] = [[b["name"]] + [cell(b) for _, cell in columns] for b in s.get("buckets", [])]
    table_rows.append(["TOTAL"] + [cell(s) for _, cell in columns])
    lines += ["", table(header, table_rows, right=range(1, len(header)))]
    return "\n".join(lines)


def status_command(args: argparse.Namespace, daemon: Daemon) -> int:
    if args.interval <= 0:
        raise UsageError("--interval must be positive")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    if not args.watch:
        _show(daemon, args.json)
        return 0
    terminal = sys.stdout.isatty()
    n = 0
    try:
        while True:
            if terminal:
                print("\x1b[H\x1b[2J", end="")  # clear the screen: only when stdout is a terminal
            elif n:
                print()
            _show(daemon, args.json)
            if not args.json:
                print(f"\n(every {args.interval:g}s, {timestamp(time.time())}; Ctrl-C to stop)")
            sys.stdout.flush()
            n += 1
            if args.count is not None and n >= args.count:
                return 0
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0


def _show(daemon: Daemon, as_json: bool) -> None:
    s = fetch_status(daemon)
    if as_json:
        print_json(s)
    else:
        print(render(s, daemon.endpoint))


def _pending(s: dict[str, Any], bucket: str | None) -> int:
    if bucket is None:
        return int(s.get("pending_records", 0))
    return sum(int(b.get("pending_records", 0)) for b in s.get("buckets", []) if b["name"] == bucket)


def flush_command(args: argparse.Namespace, daemon: Daemon) -> int:
    if not 0 < args.timeout <= MAX_FLUSH_TIMEOUT:  # false for nan too
        raise UsageError(f"--timeout must be positive and at most {MAX_FLUSH_TIMEOUT:g} seconds")
    params = {"bucket": args.bucket, "timeout": f"{args.timeout:g}"}
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["answer"] = daemon.admin("POST", "flush", params, timeout=args.timeout + 30)
        except BaseException as e:  # re-raised in the main thread
            result["error"] = e

    worker = threading.Thread(target=call, daemon=True)
    start = fetch_status(daemon) if sys.stderr.isatty() else None
    worker.start()
    if start is not None and start.get("mode") == "gateway":
        with countdown(f"flush {args.bucket or 'all buckets'}", _pending(start, args.bucket)) as remaining:
            while worker.is_alive():
                worker.join(0.5)
                if worker.is_alive():
                    remaining(_pending(fetch_status(daemon), args.bucket))
    worker.join()
    if "error" in result:
        raise result["error"]
    code, body = result["answer"]
    if args.json:
        print_json(body)
    what = f"bucket {args.bucket}" if args.bucket else "all buckets"
    if code == 200 and body.get("flushed"):
        if not args.json:
            print(
                f"flushed {what}: everything up to LSN {body.get('target_lsn')} is on the remote (HWM {body.get('hwm')})"
            )
        return 0
    remote = "" if body.get("remote_reachable") is not False else f"; remote {_remote_line(body)}"
    raise CliError(f"flush of {what} timed out after {args.timeout:g}s: still pending {_lag(body)}{remote}")
