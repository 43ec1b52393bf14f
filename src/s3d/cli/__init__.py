"""The s3d command line: `s3d run` serves; the other commands talk to a running daemon.

Each command group lives in its own module with a `register(subparsers)` function; a command that
talks to a daemon sets `client=True` and gets a `Daemon` (see connect.py). Exit codes: 0 ok,
1 the operation failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from s3d.cli import cache, daemon, drives, filters, listing, manage, mount, speedtest, status, sync, transfer
from s3d.cli.connect import resolve, translate
from s3d.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, NoDaemon, UsageError

EPILOG = """\
Client commands find the daemon at --endpoint, S3D_ENDPOINT, or its listen address (default
http://127.0.0.1:9000), and sign with S3D_ACCESS_KEY/S3D_SECRET_KEY or the credentials.json in its
data dir (--data, S3D_DATA, default ./s3d-data). Objects are named bucket/key (or s3://bucket/key).
Exit codes: 0 ok, 1 the operation failed, 2 usage error. `s3d help COMMAND` describes a command."""

MODULES = (daemon, status, listing, transfer, manage, cache, filters, speedtest, mount, sync, drives)


class ParagraphFormatter(argparse.HelpFormatter):
    """Refills each paragraph of a description to the terminal width, keeping the blank lines between them."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
        return "\n\n".join(textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent) for p in paragraphs)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="s3d", description="s3d, the S3 daemon: local-first S3 for the edge.",
                                 epilog=EPILOG, formatter_class=lambda prog: ParagraphFormatter(prog, max_help_position=20))  # fmt: skip
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for module in MODULES:
        module.register(sub)
    help_ = sub.add_parser("help", help="show this help, or a command's (s3d help COMMAND)")
    help_.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to describe")
    for p in sub.choices.values():
        p.formatter_class = ParagraphFormatter
    return ap


def _help(ap: argparse.ArgumentParser, topic: str | None) -> int:
    if topic is None:
        ap.print_help()
        return EXIT_OK
    choices = _subparsers(ap)
    if topic not in choices:
        print(f"s3d help: no command {topic!r} (commands: {', '.join(choices)})", file=sys.stderr)
        return EXIT_USAGE
    choices[topic].print_help()
    return EXIT_OK


def _subparsers(ap: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in ap._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return EXIT_OK
    if args.command == "help":
        return _help(ap, args.topic)
    if not getattr(args, "client", False):
        return int(args.func(args))
    try:
        d = resolve(args)
        try:
            return int(args.func(args, d))
        except CliError:
            raise
        except Exception as e:
            err = translate(e, d.endpoint)
            if err is None:
                raise
            raise err from None
    except UsageError as e:
        _subparsers(ap)[args.command].print_usage(sys.stderr)
        print(f"s3d {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except NoDaemon as e:
        print(e, file=sys.stderr)
        return e.exit_code
    except CliError as e:
        print(f"s3d {args.command}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`s3d ls -r b | head`): stop quietly, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


__all__ = ["main", "parser"]
