"""The mount filter (docs/filters.md): which objects the mount shows.

The mount decides from what listings carry, so a mount filter may use patterns, `size` and `age`; conditions on
tags, bucket tags, metadata or headers would need a request per object and are refused when the mount starts.
Directories are always shown; a file the filter excludes is absent from listings and lookups (ENOENT).
"""

from __future__ import annotations

from s3d.filters.evaluate import Filter, Subject
from s3d.filters.rules import Field
from s3d.filters.setting import FilterSettingError, load
from s3d.mount.attrs import NS, Entry

LISTED_FIELDS = (Field.SIZE, Field.AGE)


class MountFilterError(ValueError):
    """A filter the mount cannot use: one line saying why."""


def compile_filter(setting: str, value: str) -> Filter | None:
    """The rules (or @PATH) as a filter the mount can apply; None when empty."""
    try:
        f = load(setting, value)
    except FilterSettingError as e:
        raise MountFilterError(str(e)) from None
    if f is None:
        return None
    for rule in f.rules:
        for c in rule.conditions:
            if c.field not in LISTED_FIELDS:
                raise MountFilterError(
                    f"setting {setting}: line {c.line}, column {c.column}: the mount decides from listings, which carry "
                    f"no {c.field}: conditions (use size and age)"
                )
    return f


def shown(f: Filter | None, bucket: str, key: str, entry: Entry | None) -> bool:
    if f is None or entry is None or entry.is_dir:
        return True
    return f.include(Subject(bucket, key, size=entry.size, mtime=entry.mtime_ns / NS))
