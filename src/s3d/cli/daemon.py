"""`s3d run` (the daemon in the foreground) and `s3d credentials` (print its key pair)."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from typing import Any

from s3d import config
from s3d.filters.setting import GATEWAY_FEATURES, Feature

GATEWAY_FLAGS = (
    "remote",
    "remote_region",
    "remote_path_style",
    "remote_bucket_prefix",
    "cache_max_bytes",
    "drain_timeout",
    "cache_block_size",
    "cache_revalidate_after",
    "remote_bucket_map",
)
SETTINGS_FLAGS = (
    "config", "data", "listen", "workers", "region", "log_level", "log_format", "sync", "master_key_file", "lifecycle_day_seconds",
    "tls_cert", "tls_key", "tls_self_signed", "listen_tls", "drives", "erasure", "scrub_bytes_per_second", "console",
    *(f.setting for f in Feature),
)  # fmt: skip
FILTER_HELP = {
    Feature.UPLOAD: "gateway mode: which objects ship to the remote; the others stay local",
    Feature.CACHE: "gateway mode: which remote objects the read cache keeps; the others pass through",
    Feature.SYNC: "which objects the sync directory holds",
    Feature.MOUNT: "which objects the mount shows",
}


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML settings file (also S3D_CONFIG)")
    p.add_argument("--data", help="data directory (also S3D_DATA; default ./s3d-data)")


def register(sub: Any) -> None:
    run = sub.add_parser(
        "run", help="run the daemon in the foreground", description="Run the s3d daemon in the foreground."
    )
    _add_common(run)
    run.add_argument("--listen", help="HOST:PORT to listen on (also S3D_LISTEN; default 127.0.0.1:9000)")
    run.add_argument("--workers", type=int, help="worker processes (also S3D_WORKERS; default: number of cores)")
    run.add_argument("--region", help="region reported for buckets (default us-east-1)")
    run.add_argument("--log-level", help="debug, info, warning, error (also S3D_LOG_LEVEL)")
    run.add_argument(
        "--lifecycle-day-seconds",
        type=float,
        help="length of a lifecycle rule's day in seconds (also S3D_LIFECYCLE_DAY_SECONDS; default 86400)",
    )
    run.add_argument(
        "--log-format", choices=("human", "json"), help="request log format (also S3D_LOG_FORMAT; default human)"
    )
    run.add_argument("--sync", action="append", metavar="DIR=BUCKET[/PREFIX]",
                     help="keep a folder in sync with a bucket (repeatable; also S3D_SYNC; see docs/sync.md)")  # fmt: skip
    run.add_argument(
        "--master-key-file",
        help="master keys for encryption at rest (also S3D_MASTER_KEY_FILE; default DATA/master-keys.json)",
    )
    run.add_argument("--console", action=argparse.BooleanOptionalAction, default=None,
                     help="the web console at /_s3d/console/ (also S3D_CONSOLE; default on)")  # fmt: skip
    tls = run.add_argument_group("HTTPS")
    tls.add_argument("--tls-cert", help="PEM certificate (chain) file: serve HTTPS (also S3D_TLS_CERT)")
    tls.add_argument("--tls-key", help="PEM private key file of --tls-cert (also S3D_TLS_KEY)")
    tls.add_argument("--tls-self-signed", action="store_true", default=None,
                     help="generate a key and self-signed certificate in the data dir and serve HTTPS with them")  # fmt: skip
    tls.add_argument("--listen-tls", help="HOST:PORT of a second, HTTPS listener; --listen then stays plain HTTP")
    pool = run.add_argument_group("erasure-coded pool (docs/erasure.md)")
    pool.add_argument("--drives", metavar="DIR1,DIR2,...", help="the pool's drives (also S3D_DRIVES)")
    pool.add_argument("--erasure", metavar="K+M", help="data and parity shards per blob, e.g. 4+2 (also S3D_ERASURE)")
    pool.add_argument(
        "--scrub-bytes-per-second",
        type=int,
        help="the background scrub's read budget (default 64 MiB/s; also S3D_SCRUB_BYTES_PER_SECOND)",
    )
    gw = run.add_argument_group("gateway mode (ship every change to a remote S3)")
    gw.add_argument(
        "--remote", help="remote S3 endpoint URL, e.g. https://s3.eu-west-1.amazonaws.com (also S3D_REMOTE)"
    )
    gw.add_argument("--remote-region", help="remote region (also S3D_REMOTE_REGION, AWS_REGION; default us-east-1)")
    gw.add_argument("--remote-path-style", action=argparse.BooleanOptionalAction, default=None,
                    help="path-style remote addressing (default on; --no-remote-path-style for virtual-hosted)")  # fmt: skip
    gw.add_argument("--remote-bucket-prefix", help="prefix added to local bucket names on the remote")
    gw.add_argument(
        "--cache-max-bytes", help="local capacity for unshipped data, e.g. 10G; writes get 503 SlowDown beyond it"
    )
    gw.add_argument("--drain-timeout", type=float, help="seconds SIGTERM waits for the queue to drain (default 30)")
    gw.add_argument(
        "--remote-bucket-map",
        help="buckets named differently on the remote: LOCAL=REMOTE[,LOCAL=REMOTE...] (also S3D_REMOTE_BUCKET_MAP)",
    )
    gw.add_argument("--cache-block-size", help="read cache block size, e.g. 8M (also S3D_CACHE_BLOCK_SIZE)")
    gw.add_argument(
        "--cache-revalidate-after", type=float,
        help="seconds before a cached remote object is checked with the remote again; 0: every read (default 60)",
    )  # fmt: skip
    filters = run.add_argument_group("filters (rules, or @FILE; see docs/filters.md and `s3d filter check`)")
    for feature in Feature:
        filters.add_argument(feature.flag, metavar="RULES", help=f"{FILTER_HELP[feature]} (also {feature.env})")
    run.set_defaults(func=run_command)
    cred = sub.add_parser("credentials", help="print the access key and secret key of the daemon",
                          description="Print the daemon's access key and secret key: S3D_ACCESS_KEY/S3D_SECRET_KEY, "
                          "the first user of the config file, or the pair generated in the data dir.")  # fmt: skip
    cred.add_argument(
        "--env", action="store_true",
        help="print them as shell exports of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for eval \"$(s3d credentials --env)\"",
    )  # fmt: skip
    _add_common(cred)
    cred.set_defaults(func=credentials_command)
    rotate = sub.add_parser("rotate-key", help="add a new master key for encryption at rest (SSE-S3)",
                            description="Append a new master key to the master key file: new objects use it, "
                            "objects written before stay readable with the older keys it keeps. "
                            "Running daemons pick it up at their next start.")  # fmt: skip
    _add_common(rotate)
    rotate.add_argument(
        "--master-key-file", help="master key file (also S3D_MASTER_KEY_FILE; default DATA/master-keys.json)"
    )
    rotate.set_defaults(func=rotate_key_command)


def _settings(args: argparse.Namespace) -> tuple[config.Settings, dict[str, Any]]:
    flags: dict[str, Any] = {k: getattr(args, k, None) for k in SETTINGS_FLAGS}
    gateway_flags = {k: getattr(args, k, None) for k in GATEWAY_FLAGS}
    return config.load(flags), gateway_flags


def credentials_command(args: argparse.Namespace) -> int:
    try:
        settings, _ = _settings(args)
        if not settings.users:
            if not config.credentials_file(settings.data).exists():
                print(f"no credentials yet in {settings.data}: start the daemon once with `s3d run`", file=sys.stderr)
                return 1
            config.ensure_credentials(settings)
        if args.env:
            u = settings.users[0]  # the pair the other commands sign with
            print(
                f"export AWS_ACCESS_KEY_ID={shlex.quote(u.access_key)} AWS_SECRET_ACCESS_KEY={shlex.quote(u.secret_key)}"
            )
            return 0
        for u in settings.users:
            print(f"access key: {u.access_key}\nsecret key: {u.secret_key}")
        return 0
    except config.ConfigError as e:
        print(f"s3d: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"s3d: {e.strerror or e}", file=sys.stderr)
        return 1


def rotate_key_command(args: argparse.Namespace) -> int:
    from s3d.crypto import keys

    try:
        settings, _ = _settings(args)
        if settings.master_key:
            print("s3d: the master keys come from S3D_MASTER_KEY: rotate them there", file=sys.stderr)
            return 2
        path = settings.master_key_file or settings.data / keys.MASTER_KEY_FILE
        print(f"new master key {keys.rotate_master_key(path)} in {path}")
        return 0
    except (config.ConfigError, keys.BadKeyFile) as e:
        print(f"s3d: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"s3d: {e.strerror or e}", file=sys.stderr)
        return 1


def run_command(args: argparse.Namespace) -> int:
    from s3d.gateway import config as gateway_config
    from s3d.remote.settings import ConfigError as RemoteConfigError
    from s3d.store.recovery import DataDirError

    try:
        settings, gateway_flags = _settings(args)
        settings.gateway = gateway_config.load(gateway_flags)
        for feature in GATEWAY_FEATURES:
            if settings.gateway is None and settings.filter_for(feature) is not None:
                raise config.ConfigError(f"setting {feature.setting} needs gateway mode (--remote)")
        if settings.gateway is not None:
            settings.gateway.cache_filter = settings.cache_filter
        from s3d.daemon import locked, restore_metadata, run

        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
        with locked(settings):  # the data dir and the pool's drives, before anything reads or writes them
            restore_metadata(settings)  # before credentials are looked for in the data dir
            new = config.ensure_credentials(settings)
            if new is not None:
                print(
                    "s3d generated credentials (stored in the data dir; `s3d credentials` prints them again):\n"
                    f"  access key: {new.access_key}\n  secret key: {new.secret_key}",
                    flush=True,
                )
            from s3d.mount.daemon import bound

            with bound(settings):  # the [[mount]] entries, for as long as the daemon runs
                return run(settings)
    except (config.ConfigError, DataDirError, RemoteConfigError) as e:
        print(f"s3d: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"s3d: {e.strerror or e}", file=sys.stderr)
        return 1
