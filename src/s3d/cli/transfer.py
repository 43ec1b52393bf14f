"""`s3d put`, `s3d get`, `s3d cp`: moving bytes between files (or stdin/stdout) and objects."""

from __future__ import annotations

import argparse
import mimetypes
import os
import stat
import sys
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from s3d import user_metadata
from s3d.cli.connect import Daemon, add_arguments, failure
from s3d.cli.errors import CliError, UsageError
from s3d.cli.manage import object_size
from s3d.cli.output import human_size
from s3d.cli.paths import ObjectPath, is_local, key_path, local_path, object_path, pair
from s3d.cli.progress import transfer

CHUNK = 1024 * 1024


def _transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=64 * CHUNK, multipart_chunksize=16 * CHUNK, max_concurrency=4,
                          preferred_transfer_client="classic")  # fmt: skip


def _upload_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", action="append", type=pair, default=[], metavar="K=V",
                   help="object tag (repeatable); s3d.upload=false keeps the object local in gateway mode")  # fmt: skip
    p.add_argument(
        "--meta", action="append", type=pair, default=[], metavar="K=V", help="user metadata x-amz-meta-K (repeatable)"
    )
    p.add_argument("--content-type", metavar="TYPE", help="Content-Type (default: guessed from the file name)")


def register(sub: Any) -> None:
    put = sub.add_parser("put", help="upload a file or stdin to bucket/key",
                         description="Upload FILE (or stdin, when FILE is - or left out) to bucket/key. A key ending "
                         "in / (or no key) takes the file's name.")  # fmt: skip
    put.add_argument("dst", metavar="bucket/key", help="where to store it")
    put.add_argument("src", nargs="?", default="-", metavar="FILE|-", help="what to upload (default: stdin)")
    _upload_flags(put)
    add_arguments(put)
    put.set_defaults(func=put_command, client=True)

    get = sub.add_parser("get", help="download bucket/key to a file or stdout",
                         description="Download bucket/key to FILE (written whole, then renamed into place; a directory "
                         "takes the key's name) or to stdout (FILE is - or left out).")  # fmt: skip
    get.add_argument("src", metavar="bucket/key", help="the object")
    get.add_argument("dst", nargs="?", default="-", metavar="FILE|-", help="where to write it (default: stdout)")
    add_arguments(get)
    get.set_defaults(func=get_command, client=True)

    cp = sub.add_parser("cp", help="copy local path <-> bucket/key, or bucket/key -> bucket/key",
                        description="Copy one object. A side is local when it is -, starts with /, ./, ../ or ~, or "
                        "exists on disk; it is bucket/key otherwise, or when written s3://bucket/key. Bucket-to-bucket "
                        "copies happen inside the daemon.")  # fmt: skip
    cp.add_argument("src", metavar="SRC", help="local path, - (stdin), or bucket/key")
    cp.add_argument(
        "dst", metavar="DST", help="local path, - (stdout), or bucket/key (a trailing / keeps the source name)"
    )
    _upload_flags(cp)
    add_arguments(cp)
    cp.set_defaults(func=cp_command, client=True)


def put_command(args: argparse.Namespace, daemon: Daemon) -> int:
    if args.src == "-" and sys.stdin.isatty():
        raise UsageError("give a FILE to upload, or pipe the data on stdin")
    dst = object_path(args.dst)
    done = upload(daemon.s3(), args.src, dst, _extra_args(args))
    print(f"put {done[0]} ({human_size(done[1])})")
    return 0


def get_command(args: argparse.Namespace, daemon: Daemon) -> int:
    src = key_path(args.src)
    where, size = download(daemon.s3(), src, args.dst)
    if args.dst != "-":
        print(f"got {src} -> {where} ({human_size(size)})")
    return 0


def cp_command(args: argparse.Namespace, daemon: Daemon) -> int:
    src_local, dst_local = is_local(args.src), is_local(args.dst)
    extra = _extra_args(args)
    if src_local and dst_local:
        raise UsageError("one side of cp must be bucket/key (write s3://bucket/key if a local file has the same name)")
    if src_local:
        name, size = upload(daemon.s3(), args.src, object_path(args.dst), extra)
        print(f"copied {args.src} -> {name} ({human_size(size)})")
        return 0
    if extra:
        raise UsageError("--tag, --meta and --content-type apply to uploads from a local file")
    src = key_path(args.src)
    if dst_local:
        where, size = download(daemon.s3(), src, args.dst)
        if args.dst != "-":
            print(f"copied {src} -> {where} ({human_size(size)})")
        return 0
    dst = object_path(args.dst)
    if dst.is_prefix:
        dst = ObjectPath(dst.bucket, dst.key + src.basename())
    s3 = daemon.s3()
    found = object_size(s3, src.bucket, src.key)
    if found is None:
        raise failure("NoSuchKey", "The specified key does not exist.", str(src))
    size = found
    with transfer(f"cp {dst}", size) as progress:
        s3.copy(
            {"Bucket": src.bucket, "Key": src.key}, dst.bucket, dst.key, Callback=progress, Config=_transfer_config()
        )
    print(f"copied {src} -> {dst} ({human_size(size)})")
    return 0


def _extra_args(args: argparse.Namespace) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if args.tag:
        extra["Tagging"] = urlencode(args.tag)
    if args.meta:
        extra["Metadata"] = {k: user_metadata.encode(v) for k, v in args.meta}  # RFC 2047: botocore sends ASCII only
    if args.content_type:
        extra["ContentType"] = args.content_type
    return extra


def _open_source(src: str) -> tuple[IO[bytes], str | None, int | None]:
    """The stream to upload, its file name (None for stdin) and its size when known."""
    if src == "-":
        f: IO[bytes] = sys.stdin.buffer
        name = None
    else:
        try:
            f = open(local_path(src), "rb")  # noqa: SIM115 - closed by upload()
        except OSError as e:
            raise CliError(f"cannot read {src}: {e.strerror or e}") from None
        name = os.path.basename(src.rstrip("/"))
    st = os.fstat(f.fileno())
    if stat.S_ISDIR(st.st_mode):
        raise CliError(f"{src} is a directory: upload its files one by one")
    return f, name, st.st_size if stat.S_ISREG(st.st_mode) else None


def upload(s3: Any, src: str, dst: ObjectPath, extra: dict[str, Any]) -> tuple[str, int]:
    f, name, size = _open_source(src)
    try:
        if dst.is_prefix:
            if name is None:
                raise UsageError(f"name the key to store stdin at: {dst.bucket}/KEY")
            dst = ObjectPath(dst.bucket, dst.key + name)
        extra = dict(extra)
        guessed = mimetypes.guess_type(name)[0] if name else None
        if "ContentType" not in extra and guessed:
            extra["ContentType"] = guessed
        moved = [0]

        with transfer(f"put {dst}", size) as progress:

            def count(n: int) -> None:
                moved[0] += n
                progress(n)

            s3.upload_fileobj(
                f, dst.bucket, dst.key, ExtraArgs=extra or None, Callback=count, Config=_transfer_config()
            )
        return str(dst), size if size is not None else moved[0]
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def download(s3: Any, src: ObjectPath, dst: str) -> tuple[str, int]:
    """Write the object to dst ('-' is stdout); a file appears whole or not at all."""
    from botocore.exceptions import IncompleteReadError, ResponseStreamingError

    r = s3.get_object(Bucket=src.bucket, Key=src.key)
    size = int(r["ContentLength"])
    if dst == "-":
        out: IO[bytes] = sys.stdout.buffer
        target, tmp = "-", None
    else:
        path = local_path(dst)
        if path.is_dir() or dst.endswith("/"):
            path = path / src.basename()
        target = str(path)
        tmp = path.with_name(f".{path.name}.s3d-{os.getpid()}.part")
        try:
            out = open(tmp, "wb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise CliError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with transfer(f"get {src}", size) as progress:
            for chunk in r["Body"].iter_chunks(CHUNK):
                out.write(chunk)
                progress(len(chunk))
        out.flush()
        if tmp is not None:
            os.fsync(out.fileno())
            out.close()
            os.replace(tmp, target)
            tmp = None
    except (IncompleteReadError, ResponseStreamingError) as e:
        raise CliError(f"the download of {src} broke off: {e}") from None
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            raise
        raise CliError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            out.close()
            Path(tmp).unlink(missing_ok=True)
    return target, size
