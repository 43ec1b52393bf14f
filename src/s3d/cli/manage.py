"""`s3d rm`, `s3d tag`, `s3d mb`, `s3d rb`: removing objects, tagging them, making and removing buckets."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from s3d.cli.connect import Daemon, add_arguments, failure
from s3d.cli.errors import CliError, UsageError
from s3d.cli.output import plural, print_json
from s3d.cli.paths import ObjectPath, bucket_name, key_path, object_path

RM_DESCRIPTION = """\
Remove one object (bucket/key), or with -r everything under a prefix: `bucket/dir/ -r` removes the
keys starting with dir/; `bucket/dir -r` removes the object dir itself and everything under dir/;
`bucket -r` empties the bucket. Removing nothing is an error unless -f is given."""

TAG_DESCRIPTION = """\
Set tags on an object (merged into its existing tags), remove some (--delete KEY ...) or all
(--delete alone), then print the object's tags as K=V lines. With neither, just print them.
In gateway mode, s3d.upload=false keeps an object local and s3d.upload=true ships it."""


def register(sub: Any) -> None:
    rm = sub.add_parser(
        "rm", help="remove bucket/key, or everything under bucket/prefix/ with -r", description=RM_DESCRIPTION
    )
    rm.add_argument("path", metavar="bucket/key|bucket/prefix/", help="what to remove")
    rm.add_argument("-r", "--recursive", action="store_true", help="remove every key under the prefix")
    rm.add_argument("-f", "--force", action="store_true", help="succeed even when nothing was there to remove")
    add_arguments(rm)
    rm.set_defaults(func=rm_command, client=True)

    tag = sub.add_parser("tag", help="show, set or remove the tags of bucket/key", description=TAG_DESCRIPTION)
    tag.add_argument("path", metavar="bucket/key", help="the object")
    tag.add_argument(
        "pairs",
        nargs="*",
        metavar="K=V",
        help="tags to set (added to the object's tags, or replacing ones with the same key)",
    )
    tag.add_argument("--delete", nargs="*", metavar="KEY", help="remove these tags (all of them when no KEY follows)")
    tag.add_argument("--json", action="store_true", help="print the tags as one JSON object")
    add_arguments(tag)
    tag.set_defaults(func=tag_command, client=True)

    mb = sub.add_parser("mb", help="make a bucket", description="Create a bucket.")
    mb.add_argument("bucket", help="the bucket's name")
    add_arguments(mb)
    mb.set_defaults(func=mb_command, client=True)

    rb = sub.add_parser("rb", help="remove a bucket", description="Remove an empty bucket (with -f, empty it first).")
    rb.add_argument("bucket", help="the bucket's name")
    rb.add_argument("-f", "--force", action="store_true", help="remove the bucket's objects first")
    add_arguments(rb)
    rb.set_defaults(func=rb_command, client=True)


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[list[str]]:
    """The keys under prefix, a page (at most 1,000) at a time."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [o["Key"] for o in page.get("Contents", [])]
        if keys:
            yield keys


def delete_keys(s3: Any, bucket: str, keys: list[str]) -> int:
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    errors = r.get("Errors", [])
    if errors:
        e = errors[0]
        raise failure(e.get("Code", "InternalError"), e.get("Message", ""), f"{bucket}/{e.get('Key', '')}")
    return len(keys)


def object_size(s3: Any, bucket: str, key: str) -> int | None:
    """The object's size, None when there is no such key (a missing bucket raises NoSuchBucket, as HEAD cannot say)."""
    r = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    found = r.get("Contents", [])
    return int(found[0]["Size"]) if found and found[0]["Key"] == key else None


def _exists(s3: Any, bucket: str, key: str) -> bool:
    return object_size(s3, bucket, key) is not None


def rm_command(args: argparse.Namespace, daemon: Daemon) -> int:
    where = object_path(args.path)
    if not args.recursive and where.is_prefix:
        raise UsageError(f"{args.path} is a bucket or a prefix: add -r to remove everything under it")
    s3 = daemon.s3()
    if not args.recursive:
        if not _exists(s3, where.bucket, where.key):
            if args.force:
                return 0
            raise failure("NoSuchKey", "no such object", str(where))
        s3.delete_object(Bucket=where.bucket, Key=where.key)
        print(f"removed {where}")
        return 0
    n = 0
    if not where.is_prefix and _exists(s3, where.bucket, where.key):
        s3.delete_object(Bucket=where.bucket, Key=where.key)
        n += 1
    prefix = where.key if where.is_prefix else where.key + "/"
    for keys in _keys(s3, where.bucket, prefix):
        n += delete_keys(s3, where.bucket, keys)
    shown = ObjectPath(where.bucket, prefix)
    if n == 0 and not args.force:
        raise CliError(f"nothing to remove under {shown}")
    print(f"removed {plural(n, 'object')} under {shown}")
    return 0


def tag_command(args: argparse.Namespace, daemon: Daemon) -> int:
    where = key_path(args.path)
    pairs = []
    for p in args.pairs:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise UsageError(f"expected K=V, got {p!r}")
        pairs.append((k, v))
    s3 = daemon.s3()
    current = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=where.bucket, Key=where.key)["TagSet"]}
    if args.delete == [] and not pairs:
        s3.delete_object_tagging(Bucket=where.bucket, Key=where.key)
        current = {}
    elif args.delete is not None or pairs:
        if args.delete == []:
            current = {}
        for name in args.delete or []:
            current.pop(name.partition("=")[0], None)
        current.update(pairs)
        _put_tags(s3, where, current)
    if args.json:
        print_json(current)
    else:
        for k, v in current.items():
            print(f"{k}={v}")
    return 0


def _put_tags(s3: Any, where: ObjectPath, tags: dict[str, str]) -> None:
    s3.put_object_tagging(
        Bucket=where.bucket, Key=where.key, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
    )


def mb_command(args: argparse.Namespace, daemon: Daemon) -> int:
    name = bucket_name(args.bucket)
    daemon.s3().create_bucket(Bucket=name)
    print(f"made bucket {name}")
    return 0


def rb_command(args: argparse.Namespace, daemon: Daemon) -> int:
    name = bucket_name(args.bucket)
    s3 = daemon.s3()
    n = 0
    if args.force:
        for keys in _keys(s3, name, ""):
            n += delete_keys(s3, name, keys)
    s3.delete_bucket(Bucket=name)
    print(f"removed bucket {name}" + (f" and its {plural(n, 'object')}" if n else ""))
    return 0
