"""Command-line names: bucket/key (or s3://bucket/key), local paths, and k=v pairs."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from s3d.cli.errors import UsageError

SCHEME = "s3://"
LOCAL_PREFIXES = ("/", "./", "../", "~")


@dataclass(frozen=True, slots=True)
class ObjectPath:
    bucket: str
    key: str  # "" for the bucket itself; a trailing "/" names a prefix

    def __str__(self) -> str:
        return f"{self.bucket}/{self.key}"

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def basename(self) -> str:
        return self.key.rstrip("/").rsplit("/", 1)[-1]


def object_path(text: str) -> ObjectPath:
    """'bucket', 'bucket/', 'bucket/dir/key' or 's3://bucket/key'."""
    bucket, _, key = text.removeprefix(SCHEME).partition("/")
    if not bucket:
        raise UsageError(f"{text!r} names no bucket: write bucket/key")
    return ObjectPath(bucket, key)


def bucket_name(text: str) -> str:
    p = object_path(text)
    if p.key:
        raise UsageError(f"{text!r} is not a bucket name")
    return p.bucket


def key_path(text: str) -> ObjectPath:
    """bucket/key naming one object (not a prefix)."""
    p = object_path(text)
    if p.is_prefix:
        raise UsageError(f"{text!r} names no object: write bucket/key")
    return p


def is_local(text: str) -> bool:
    """s3://... is remote; '-', '.', '..', /..., ./..., ../..., ~... are local; otherwise local if it exists."""
    if text.startswith(SCHEME):
        return False
    if text in ("-", ".", "..") or text.startswith(LOCAL_PREFIXES):
        return True
    return os.path.lexists(text)


def local_path(text: str) -> Path:
    return Path(os.path.expanduser(text))


def pair(text: str) -> tuple[str, str]:
    """argparse type for k=v."""
    k, sep, v = text.partition("=")
    if not sep or not k:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return k, v
