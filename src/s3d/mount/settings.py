"""What to mount and how: one `s3d mount` command line, or one `[[mount]]` entry of the daemon's TOML file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s3d.filters.evaluate import Filter

MIB = 1024 * 1024
KEY_MAX_BYTES = 1024  # S3's limit on a key
NAME_MAX_BYTES = 255  # the usual filesystem limit on one path component
DEFAULT_ATTR_CACHE = 1.0  # seconds an attribute or listing is trusted before S3 is asked again
DEFAULT_TIMEOUT = 30.0  # seconds one S3 call may take before the caller gets EIO
DEFAULT_READ_BLOCK = MIB  # the unit of the read cache: a random read fetches one block
DEFAULT_READ_AHEAD = 32 * MIB  # the largest read-ahead window of sequential reads
DEFAULT_READ_CACHE = 1024 * MIB  # memory the read caches of all open files use together, at most
SINGLE_PUT_MAX = 5 * 1024**3  # S3's limit on one PutObject; larger staged files go up in parts
UPLOAD_PART = 256 * 1024 * 1024  # part size of those, uploaded in parallel
UPLOAD_THREADS = 4


class MountConfigError(ValueError):
    """A mount setting is wrong; the message says which, in one line."""


@dataclass(frozen=True, slots=True)
class Target:
    """bucket[/prefix]: the prefix is empty or ends with '/'."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, text: str) -> Target:
        text = text.removeprefix("s3://")
        bucket, _, prefix = text.partition("/")
        if not bucket:
            raise MountConfigError(f"mount source must be bucket[/prefix], got {text!r}")
        prefix = prefix.strip("/")
        return cls(bucket, prefix + "/" if prefix else "")

    def __str__(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket


@dataclass(frozen=True, slots=True)
class MountSettings:
    target: Target
    mountpoint: Path
    read_only: bool = False
    attr_cache: float = DEFAULT_ATTR_CACHE
    timeout: float = DEFAULT_TIMEOUT
    read_block: int = DEFAULT_READ_BLOCK
    read_ahead: int = DEFAULT_READ_AHEAD
    read_cache: int = DEFAULT_READ_CACHE
    local_read: bool = True  # read the daemon's blob files directly when it names them (s3d.local_read)
    staging: Path | None = None  # where writes are staged; None: a private temporary directory
    filter: Filter | None = None  # which objects the mount shows (mount/filtering.py)
    filter_text: str = ""  # the filter as given (rules or @PATH), passed on to a mount process


TOML_KEYS = {"source", "mountpoint", "read_only", "attr_cache", "timeout", "read_cache", "local_read", "filter"}


def from_toml(i: int, raw: Any) -> MountSettings:
    """One `[[mount]]` table: source = "bucket[/prefix]", mountpoint = "/mnt/x", read_only, attr_cache, timeout,
    read_cache (MiB), local_read, filter (rules or @PATH; checked by the mount process when it starts)."""
    where = f"mount[{i}]"
    if not isinstance(raw, dict):
        raise MountConfigError(f"{where} must be a table")
    unknown = set(raw) - TOML_KEYS
    if unknown:
        raise MountConfigError(
            f"{where}: unknown setting(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(TOML_KEYS))})"
        )
    try:
        source, mountpoint = str(raw["source"]), Path(str(raw["mountpoint"]))
    except KeyError as e:
        raise MountConfigError(f"{where} needs {e.args[0]}") from None
    filter_text = raw.get("filter", "")
    if not isinstance(filter_text, str):
        raise MountConfigError(f"{where}: filter must be text (rules, or @PATH)")
    read_only, local_read = raw.get("read_only", False), raw.get("local_read", True)
    for name, value in (("read_only", read_only), ("local_read", local_read)):
        if not isinstance(value, bool):
            raise MountConfigError(f"{where}: {name} must be true or false")
    return MountSettings(
        Target.parse(source),
        mountpoint,
        read_only=read_only,
        attr_cache=seconds(f"{where}: attr_cache", raw.get("attr_cache", DEFAULT_ATTR_CACHE)),
        timeout=seconds(f"{where}: timeout", raw.get("timeout", DEFAULT_TIMEOUT), positive=True),
        read_cache=mebibytes(f"{where}: read_cache", raw.get("read_cache", DEFAULT_READ_CACHE // MIB)),
        local_read=local_read,
        filter_text=filter_text,
    )


def seconds(what: str, value: Any, positive: bool = False) -> float:
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise MountConfigError(f"{what} must be a number of seconds, got {value!r}") from None
    if s < 0 or (positive and s == 0):
        raise MountConfigError(f"{what} must be {'above' if positive else 'at least'} 0, got {value!r}")
    return s


def mebibytes(what: str, value: Any) -> int:
    """A size given in whole MiB (at least 1), in bytes."""
    if isinstance(value, bool):
        raise MountConfigError(f"{what} must be a whole number of MiB, got {value!r}")
    try:
        n = int(str(value))
    except ValueError:
        raise MountConfigError(f"{what} must be a whole number of MiB, got {value!r}") from None
    if n < 1:
        raise MountConfigError(f"{what} must be at least 1 (MiB), got {value!r}")
    return n * MIB
