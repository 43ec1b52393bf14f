"""Data as an older s3d stored it: rows of a stopped daemon's meta.db rewritten, then the daemon started again."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

from tests.support.server import S3dProcess


def rewrite(proc: S3dProcess, edit: Callable[[sqlite3.Connection], None]) -> None:
    """Stop the daemon, run ``edit`` in one transaction of its meta.db, start it again (same port)."""
    proc.stop()
    with closing(sqlite3.connect(proc.data / "meta.db")) as db, db:
        edit(db)
    proc.start()


def set_bucket_config(proc: S3dProcess, bucket: str, entry: str, value: Any) -> None:
    """A bucket's config entry (``lifecycle``, ``object_lock``) as given, whatever today's checks would say."""

    def edit(db: sqlite3.Connection) -> None:
        (raw,) = db.execute("SELECT config FROM buckets WHERE name=?", (bucket,)).fetchone()
        db.execute("UPDATE buckets SET config=? WHERE name=?", (json.dumps({**json.loads(raw), entry: value}), bucket))

    rewrite(proc, edit)


def set_object_meta(proc: S3dProcess, bucket: str, key: str, name: str, value: str) -> None:
    """One entry of a current object's stored metadata."""

    def edit(db: sqlite3.Connection) -> None:
        (raw,) = db.execute("SELECT meta FROM objects WHERE bucket=? AND key=?", (bucket, key.encode())).fetchone()
        meta = {**json.loads(raw), name: value}
        db.execute("UPDATE objects SET meta=? WHERE bucket=? AND key=?", (json.dumps(meta), bucket, key.encode()))

    rewrite(proc, edit)
