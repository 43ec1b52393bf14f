"""Stored objects and buckets as filter subjects."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from s3d.filters.evaluate import EMPTY, Filter, Subject
from s3d.store import buckets
from s3d.store.objects import Object

TAGS = "tags"  # the bucket configuration entry that holds the bucket's tags


def bucket_tags(config: Mapping[str, Any] | None) -> dict[str, str]:
    """A bucket's tags from its configuration (the PutBucketTagging document)."""
    pairs = (config or {}).get(TAGS) or []
    return {str(k): str(v) for k, v in pairs}


def stored_bucket_tags(conn: sqlite3.Connection, bucket: str) -> dict[str, str]:
    b = buckets.get(conn, bucket)
    return bucket_tags(b.config) if b else {}


def subject(obj: Object, btags: Mapping[str, str] = EMPTY) -> Subject:
    return Subject(
        obj.bucket,
        obj.key.decode(errors="replace"),
        obj.size,
        obj.mtime,
        dict(obj.tags) if obj.tags else EMPTY,
        btags,
        obj.meta,
    )


def subject_in(conn: sqlite3.Connection, f: Filter, obj: Object) -> Subject:
    """The subject for an object, reading its bucket's tags only when the filter looks at them."""
    return subject(obj, stored_bucket_tags(conn, obj.bucket) if f.uses_bucket_tags else EMPTY)
