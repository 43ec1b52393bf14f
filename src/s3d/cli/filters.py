"""`s3d filter check` (parse and pretty-print rules) and `s3d filter why` (which rule decided, and why)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from s3d.cli.connect import Daemon, add_arguments
from s3d.cli.errors import EXIT_OK, EXIT_USAGE, CliError
from s3d.cli.output import human_size, print_json
from s3d.cli.paths import key_path
from s3d.filters import FilterError, parse
from s3d.filters.evaluate import Filter
from s3d.filters.setting import FILE_PREFIX, Feature, read_rules

CHECK_DESCRIPTION = """\
Parse filter rules (or @FILE, a file that holds them) and print them in canonical form, one per
line, ending with what happens when no rule matches. A filter that does not parse is reported
with its line and column, and the command exits 2. The language is described in docs/filters.md."""

WHY_DESCRIPTION = """\
Ask the daemon how each of its filters (upload_filter, cache_filter, sync_filter, mount_filter)
decides about an object: the rule that decided (or the default, a tag or a pin that wins over the
filter), and for every rule before it why it did not match. Uses the live object's tags and
metadata and its bucket's tags: GET /_s3d/filter/why?bucket=&key=."""


def register(sub: Any) -> None:
    p = sub.add_parser("filter", help="check filter rules, or see why a filter includes an object",
                       description="Work with s3d's filters (docs/filters.md): `s3d filter check RULES`, "
                       "`s3d filter why bucket/key`.")  # fmt: skip
    commands = p.add_subparsers(dest="filter_command", metavar="SUBCOMMAND", required=True, help="check or why")
    check = commands.add_parser("check", help="parse and pretty-print rules", description=CHECK_DESCRIPTION)
    check.add_argument("rules", metavar="RULES", help=f"the rules, or {FILE_PREFIX}FILE")
    check.set_defaults(func=check_command)
    why = commands.add_parser("why", help="which rule decides about bucket/key, per feature",
                              description=WHY_DESCRIPTION)  # fmt: skip
    why.add_argument("path", metavar="bucket/key", help="the object")
    why.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    add_arguments(why)
    why.set_defaults(func=why_command, client=True)


def check_command(args: argparse.Namespace) -> int:
    try:
        text, origin = read_rules(args.rules)
    except (OSError, UnicodeDecodeError) as e:
        print(f"s3d filter check: cannot read {args.rules[len(FILE_PREFIX) :]}: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        f = Filter(parse(text), text)
    except FilterError as e:
        print(f"s3d filter check{origin}: {e}", file=sys.stderr)
        lines = text.split("\n")
        if 0 < e.line <= len(lines):
            print(f"  {lines[e.line - 1]}\n  {' ' * (e.column - 1)}^", file=sys.stderr)
        return EXIT_USAGE
    print(f.pretty())
    return EXIT_OK


def why_command(args: argparse.Namespace, daemon: Daemon) -> int:
    where = key_path(args.path)
    code, body = daemon.admin("GET", "filter/why", {"bucket": where.bucket, "key": where.key})
    if code != 200 or not isinstance(body, dict):
        raise CliError(f"/_s3d/filter/why answered {code}: {body}")
    if args.json:
        print_json(body)
        return EXIT_OK
    o = body["object"]
    print(f"{where.bucket}/{where.key}  {human_size(o['size'])}")
    for label, values in (("tags", o["tags"]), ("bucket tags", o["bucket_tags"]), ("metadata", o["metadata"])):
        print(f"  {label}: {', '.join(f'{k}={v}' for k, v in values.items()) or '-'}")
    for feature in Feature:
        v = body["features"][feature.value]
        print(f"{feature.value:<7} {'include' if v['include'] else 'exclude'}: {v['reason']}")
        for step in v["steps"]:
            print(f"          line {step['line']}: {step['rule']}  ({step['result']})")
    return EXIT_OK
