"""The s3d command line."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from s3d import config
from s3d.gateway import config as gateway_config
from s3d.remote.botocore_remote import ConfigError as RemoteConfigError
from s3d.store.recovery import DataDirError

GATEWAY_FLAGS = ("remote", "remote_region", "remote_path_style", "remote_bucket_prefix", "cache_max_bytes", "drain_timeout")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML settings file (also S3D_CONFIG)")
    p.add_argument("--data", help="data directory (also S3D_DATA; default ./s3d-data)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="s3d", description="s3d, the S3 daemon: local-first S3 for the edge.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the daemon in the foreground")
    _add_common(run)
    run.add_argument("--listen", help="HOST:PORT to listen on (also S3D_LISTEN; default 127.0.0.1:9000)")
    run.add_argument("--workers", type=int, help="worker processes (also S3D_WORKERS; default: number of cores)")
    run.add_argument("--region", help="region reported for buckets (default us-east-1)")
    run.add_argument("--log-level", help="debug, info, warning, error")
    gw = run.add_argument_group("gateway mode (ship every change to a remote S3)")
    gw.add_argument("--remote", help="remote S3 endpoint URL, e.g. https://s3.eu-west-1.amazonaws.com (also S3D_REMOTE)")
    gw.add_argument("--remote-region", help="remote region (also S3D_REMOTE_REGION, AWS_REGION; default us-east-1)")
    gw.add_argument("--remote-path-style", action=argparse.BooleanOptionalAction, default=None,
                    help="path-style remote addressing (default on; --no-remote-path-style for virtual-hosted)")
    gw.add_argument("--remote-bucket-prefix", help="prefix added to local bucket names on the remote")
    gw.add_argument("--cache-max-bytes", help="local capacity for unshipped data, e.g. 10G; writes get 503 SlowDown beyond it")
    gw.add_argument("--drain-timeout", type=float, help="seconds SIGTERM waits for the queue to drain (default 30)")
    cred = sub.add_parser("credentials", help="print the access key and secret key of the daemon")
    _add_common(cred)
    sub.add_parser("help", help="show this help")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    if args.command in (None, "help"):
        ap.print_help()
        return 0
    flags: dict[str, Any] = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        gateway_flags = {k: flags.pop(k, None) for k in GATEWAY_FLAGS}
        settings = config.load(flags)
        if args.command == "run":
            settings.gateway = gateway_config.load(gateway_flags)
        if args.command == "credentials":
            if not settings.users:
                if not config.credentials_file(settings.data).exists():
                    print(f"no credentials yet in {settings.data}: start the daemon once with `s3d run`", file=sys.stderr)
                    return 1
                config.ensure_credentials(settings)
            for u in settings.users:
                print(f"access key: {u.access_key}\nsecret key: {u.secret_key}")
            return 0
        if args.command == "run":
            from s3d.server.run import run

            logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
            new = config.ensure_credentials(settings)
            if new is not None:
                print(
                    "s3d generated credentials (stored in the data dir; `s3d credentials` prints them again):\n"
                    f"  access key: {new.access_key}\n  secret key: {new.secret_key}",
                    flush=True,
                )
            return run(settings)
    except (config.ConfigError, DataDirError, RemoteConfigError) as e:
        print(f"s3d: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"s3d: {e.strerror or e}", file=sys.stderr)
        return 1
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
