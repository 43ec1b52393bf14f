"""Sync pairs: a folder kept in sync with a bucket (or a prefix in it), and how.

s3d run --sync DIR=bucket[/prefix]          (repeatable)
S3D_SYNC='DIR=bucket[/prefix];DIR2=bucket2'  (';' between pairs)
[[sync]] dir = "...", bucket = "...", prefix = "...", direction = "both", filter = "...",
         conflict = "newer", max_delete = "50%"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from s3d.filters import setting as filter_setting
from s3d.filters.evaluate import Filter

ENV = "S3D_SYNC"
ENV_SEPARATOR = ";"
SPEC_SEPARATOR = "="
PERCENT = "%"
DEFAULT_MAX_DELETE = "50%"
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KEYS = {"dir", "bucket", "prefix", "direction", "filter", "conflict", "max_delete"}


class SyncConfigError(ValueError):
    """A sync pair that cannot be used; the message says which and why, in one line."""


class Direction(StrEnum):
    BOTH = "both"  # changes on either side reach the other
    UP = "up"  # folder -> bucket only
    DOWN = "down"  # bucket -> folder only


class ConflictPolicy(StrEnum):
    NEWER = "newer"  # the newer change keeps the name, the other is kept beside it
    LOCAL = "local"  # the folder's version keeps the name
    REMOTE = "remote"  # the bucket's version keeps the name


@dataclass(frozen=True, slots=True)
class MaxDelete:
    """The most deletions one run may make on either side: a count, or a share of the pair's files."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value: object) -> MaxDelete:
        text = str(value).strip()
        try:
            if text.endswith(PERCENT):
                percent = float(text[: -len(PERCENT)])
                if not 0 <= percent <= 100:
                    raise ValueError
                return cls(percent=percent)
            count = int(text)
            if count < 0:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise SyncConfigError(f"max_delete must be a count or a percentage like 50%, got {value!r}") from None

    def limit(self, files: int) -> int:
        if self.count is not None:
            return self.count
        assert self.percent is not None
        return int(files * self.percent / 100)

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


@dataclass(slots=True)
class SyncPair:
    dir: Path
    bucket: str
    prefix: str = ""  # '' or ending in '/'
    direction: Direction = Direction.BOTH
    filter: Filter | None = None
    conflict: ConflictPolicy = ConflictPolicy.NEWER
    max_delete: MaxDelete = field(default_factory=lambda: MaxDelete.parse(DEFAULT_MAX_DELETE))

    @property
    def name(self) -> str:
        """The pair's identity (its rows in the database are kept under it)."""
        return f"{self.dir}={self.bucket}/{self.prefix}"


def _prefix(text: str) -> str:
    text = text.strip("/")
    return text + "/" if text else ""


def _bucket(name: str, where: str) -> str:
    if not BUCKET_NAME.match(name):
        raise SyncConfigError(f"{where}: {name!r} is not a valid bucket name")
    return name


def parse_spec(spec: str) -> SyncPair:
    """``DIR=bucket[/prefix]`` (the --sync flag and S3D_SYNC)."""
    folder, sep, target = spec.strip().rpartition(SPEC_SEPARATOR)
    if not sep or not folder or not target:
        raise SyncConfigError(f"sync pair must be DIR=bucket[/prefix], got {spec!r}")
    bucket, _, prefix = target.partition("/")
    return SyncPair(Path(folder).expanduser().absolute(), _bucket(bucket, f"sync pair {spec!r}"), _prefix(prefix))


def parse_env(value: str) -> list[SyncPair]:
    return [parse_spec(s) for s in value.split(ENV_SEPARATOR) if s.strip()]


def _choice(enum: type[Direction] | type[ConflictPolicy], value: object, name: str, where: str) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise SyncConfigError(f"{where}: {name} must be one of {allowed}, got {value!r}") from None


def parse_table(t: Mapping[str, Any], where: str) -> SyncPair:
    """One ``[[sync]]`` table of the TOML file."""
    unknown = set(t) - KEYS
    if unknown:
        raise SyncConfigError(f"{where}: unknown setting {sorted(unknown)[0]!r} (known: {', '.join(sorted(KEYS))})")
    if not isinstance(t.get("dir"), str) or not isinstance(t.get("bucket"), str):
        raise SyncConfigError(f"{where}: dir and bucket are required")
    try:
        flt = filter_setting.load("filter", t.get("filter", ""))
    except filter_setting.FilterSettingError as e:
        raise SyncConfigError(f"{where}: {e}") from None
    return SyncPair(
        dir=Path(t["dir"]).expanduser().absolute(),
        bucket=_bucket(t["bucket"], where),
        prefix=_prefix(str(t.get("prefix", ""))),
        direction=_choice(Direction, t.get("direction", Direction.BOTH), "direction", where),
        filter=flt,
        conflict=_choice(ConflictPolicy, t.get("conflict", ConflictPolicy.NEWER), "conflict", where),
        max_delete=MaxDelete.parse(t.get("max_delete", DEFAULT_MAX_DELETE)),
    )


def check_distinct(pairs: list[SyncPair]) -> None:
    """Two pairs on one folder, or on overlapping bucket prefixes, would undo each other's work."""
    for i, a in enumerate(pairs):
        for b in pairs[i + 1 :]:
            if a.dir == b.dir or a.dir in b.dir.parents or b.dir in a.dir.parents:
                raise SyncConfigError(f"sync folders {a.dir} and {b.dir} overlap")
            if a.bucket == b.bucket and (a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)):
                raise SyncConfigError(f"sync pairs {a.name} and {b.name} overlap in the bucket")
