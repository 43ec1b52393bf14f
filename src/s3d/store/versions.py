"""Object versions: the ``versions`` table, the only module that touches it, and S3's versioning rules.

The current version of a key stays in ``objects``, so GETs and listings of current objects read that
table alone, exactly as without versioning. When a write or delete in a versioned bucket supersedes
the current version, its row moves here with its bytes (nothing is copied); a delete without a
version id adds a delete marker here and removes the ``objects`` row. So a key whose newest version
is a delete marker has no ``objects`` row, only versions here. A key's versions order newest first
by ``seq``: the LSN of the write that last made the version current (the ``objects`` row's
``version``), so the current version is always newer than every row here.

The "null" version (version id NULL here, ``null`` in S3) is what a write makes while versioning is
off or suspended; a key has at most one. In a suspended bucket a write or a delete replaces it.

Every function here runs inside the caller's transaction and appends the journal records the change
needs: a new current object is a PUT, a key left without a current object a DELETE (that is what
ships in gateway mode); a change to noncurrent versions only is a VERSION record.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from s3d.store import journal, locks, objects, ship_state
from s3d.store.buckets import WriteState
from s3d.store.listing import successor
from s3d.store.objects import Conditions, Object, check_conditions, parts_from_json, parts_to_json

ENABLED = "Enabled"
SUSPENDED = "Suspended"
STATES = (ENABLED, SUSPENDED)
NULL_ID = "null"  # S3's name of the null version; never a generated id (those are 32 URL-safe characters)
ID_BYTES = 24

COLUMNS = "bucket, key, seq, version_id, marker, size, etag, mtime, meta, checksum, tags, blob, parts, data"
PLACEHOLDERS = ",".join("?" * len(COLUMNS.split(",")))


ID_FORM = re.compile(r"[A-Za-z0-9_-]{" + str(len(secrets.token_urlsafe(ID_BYTES))) + "}")  # what new_version_id makes


def new_version_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def well_formed(s3_version_id: str) -> bool:
    """Whether an id S3 names could be one of ours ("null" or a generated id); no other can ever exist here."""
    return s3_version_id == NULL_ID or ID_FORM.fullmatch(s3_version_id) is not None


def s3_id(version_id: str | None) -> str:
    """The id S3 shows for a stored one (None is the null version)."""
    return NULL_ID if version_id is None else version_id


def stored_id(s3_version_id: str) -> str | None:
    return None if s3_version_id == NULL_ID else s3_version_id


@dataclass(slots=True)
class Version:
    """One version of a key: an object (the current one, or noncurrent) or a delete marker."""

    obj: Object  # a marker's has size 0, no ETag, no metadata
    marker: bool = False
    latest: bool = False


@dataclass(slots=True)
class Removal:
    """What a delete did: the version it removed or the marker it made, and blobs to unlink once durable."""

    version_id: str | None
    marker: bool
    blobs: list[str] = field(default_factory=list)
    found: bool = True


def _from_row(row: tuple[Any, ...] | sqlite3.Row) -> Version:
    obj = Object(
        bucket=row[0], key=row[1], size=row[5], etag=row[6], mtime=row[7], version=row[2],
        meta=json.loads(row[8]), checksum=json.loads(row[9]) if row[9] else None,
        tags=[(t[0], t[1]) for t in json.loads(row[10])] if row[10] else None,
        blob=row[11], parts=parts_from_json(row[12]) if row[12] else None, data=row[13], version_id=row[3],
    )  # fmt: skip
    return Version(obj, bool(row[4]))


def _insert(conn: sqlite3.Connection, obj: Object, marker: bool) -> None:
    conn.execute(
        f"INSERT INTO versions ({COLUMNS}) VALUES ({PLACEHOLDERS})",
        (
            obj.bucket, obj.key, obj.version, obj.version_id, int(marker), obj.size, obj.etag, obj.mtime,
            json.dumps(obj.meta), json.dumps(obj.checksum) if obj.checksum else None,
            json.dumps(obj.tags) if obj.tags else None, obj.blob,
            parts_to_json(obj.parts) if obj.parts else None, obj.data,
        ),
    )  # fmt: skip


# ---------- reads ----------
def get(conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str | None) -> Version | None:
    """A noncurrent version or delete marker by its stored id."""
    row = conn.execute(
        f"SELECT {COLUMNS} FROM versions WHERE bucket=? AND key=? AND version_id IS ? ORDER BY seq DESC LIMIT 1",
        (bucket, key, version_id),
    ).fetchone()
    return _from_row(row) if row else None


def newest(conn: sqlite3.Connection, bucket: str, key: bytes) -> Version | None:
    row = conn.execute(
        f"SELECT {COLUMNS} FROM versions WHERE bucket=? AND key=? ORDER BY seq DESC LIMIT 1", (bucket, key)
    ).fetchone()
    return _from_row(row) if row else None


def all_of(conn: sqlite3.Connection, bucket: str, key: bytes) -> list[Version]:
    """A key's noncurrent versions and delete markers, newest first."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM versions WHERE bucket=? AND key=? ORDER BY seq DESC", (bucket, key)
    ).fetchall()
    return [_from_row(r) for r in rows]


def latest_marker(conn: sqlite3.Connection, bucket: str, key: bytes) -> Version | None:
    """The delete marker that is a key's newest version (the caller knows there is no current object)."""
    v = newest(conn, bucket, key)
    if v is None or not v.marker:
        return None
    v.latest = True
    return v


def find(conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str | None) -> Version | None:
    """Any version of a key, current or not, by its stored id."""
    cur = objects.get(conn, bucket, key)
    if cur is not None and cur.version_id == version_id:
        return Version(cur, latest=True)
    v = get(conn, bucket, key, version_id)
    if v is not None and cur is None:
        top = newest(conn, bucket, key)
        v.latest = top is not None and top.obj.version == v.obj.version
    return v


def any_in_bucket(conn: sqlite3.Connection, bucket: str) -> bool:
    return conn.execute("SELECT 1 FROM versions WHERE bucket=? LIMIT 1", (bucket,)).fetchone() is not None


def blob_references(conn: sqlite3.Connection) -> set[str]:
    return objects.blobs_of_rows(
        conn.execute("SELECT blob, parts FROM versions WHERE blob IS NOT NULL OR parts IS NOT NULL")
    )


def noncurrent_bytes(conn: sqlite3.Connection) -> int:
    """Bytes held by noncurrent versions (they stay local: in gateway mode they count like unshipped data)."""
    return int(conn.execute("SELECT coalesce(sum(size), 0) FROM versions").fetchone()[0])


# ---------- writes (inside the caller's transaction) ----------
def _remove(conn: sqlite3.Connection, v: Version) -> None:
    conn.execute("DELETE FROM versions WHERE bucket=? AND key=? AND seq=?", (v.obj.bucket, v.obj.key, v.obj.version))


def _drop_null(conn: sqlite3.Connection, bucket: str, key: bytes) -> list[str]:
    gone: list[str] = []
    while (v := get(conn, bucket, key, None)) is not None:
        gone += v.obj.blobs()
        _remove(conn, v)
    return gone


def _supersede(conn: sqlite3.Connection, bucket: str, key: bytes, old: Object | None, state: str) -> list[str]:
    """The current version gives way to a newer one: kept as noncurrent, or (the null version in a
    suspended bucket, or an object whose bytes are only on the remote) dropped. Returns blobs to unlink."""
    gone: list[str] = []
    if state == SUSPENDED:
        gone += _drop_null(conn, bucket, key)
    if old is not None:
        if old.is_remote or (old.version_id is None and state == SUSPENDED):
            gone += old.blobs()
        else:
            _insert(conn, old, marker=False)
    return gone


def write_current(conn: sqlite3.Connection, obj: Object, cond: Conditions | None, bucket: WriteState) -> list[str]:
    """Make ``obj`` its key's current version, as the bucket's versioning state says.

    Checks the write conditions against the current version, appends the PUT record (which gives the
    object its ``version``), gives a new version the bucket's default retention, and returns the
    blobs no version owns any more.
    """
    state = bucket.versioning
    if bucket.lock_enabled:
        locks.apply_default(obj.meta, bucket.lock_rule, obj.mtime)
    if state is None:
        old_current = objects.current(conn, obj.bucket, obj.key)
        check_conditions(old_current.etag if old_current else None, cond)
        if old_current is not None and old_current.is_remote:
            ship_state.seen(conn, obj.bucket, obj.key, old_current.etag)
        obj.version = journal.append(conn, journal.Op.PUT, obj.bucket, obj.key, obj.size)
        objects.put(conn, obj)
        return objects.replaced_blobs(old_current, obj)
    old = objects.get(conn, obj.bucket, obj.key)
    check_conditions(old.etag if old else None, cond)
    if old is not None and old.is_remote:
        ship_state.seen(conn, obj.bucket, obj.key, old.etag)
    obj.version = journal.append(conn, journal.Op.PUT, obj.bucket, obj.key, obj.size)
    obj.version_id = new_version_id() if state == ENABLED else None
    gone = _supersede(conn, obj.bucket, obj.key, old, state)
    objects.put(conn, obj)
    keep = set(obj.blobs())
    return [b for b in gone if b not in keep]


def delete_current(conn: sqlite3.Connection, bucket: str, key: bytes, state: str) -> Removal:
    """A delete without a version id in a versioned bucket: a new delete marker becomes the newest version."""
    old = objects.get(conn, bucket, key)
    if old is not None and old.is_remote:  # its ship deletes only what was seen there (If-Match)
        ship_state.seen(conn, bucket, key, old.etag)
    lsn = journal.append(conn, journal.Op.DELETE, bucket, key)
    gone = _supersede(conn, bucket, key, old, state)
    if old is not None:
        objects.delete(conn, bucket, key)
    version_id = new_version_id() if state == ENABLED else None
    marker = Object(bucket, key, 0, "", time.time(), lsn, {}, version_id=version_id)
    _insert(conn, marker, marker=True)
    return Removal(version_id, True, gone)


def _promote(conn: sqlite3.Connection, bucket: str, key: bytes) -> None:
    """The current version went: the newest remaining one becomes current (a marker leaves the key deleted)."""
    top = newest(conn, bucket, key)
    if top is None or top.marker:
        journal.append(conn, journal.Op.DELETE, bucket, key)
        return
    _remove(conn, top)
    top.obj.version = journal.append(conn, journal.Op.PUT, bucket, key, top.obj.size)
    objects.put(conn, top.obj)


def delete_version(
    conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str | None, bypass_governance: bool = False
) -> Removal:
    """Remove one version for good (the newest remaining one becomes current if it was the current one).

    A version under object lock stays (ObjectLocked); GOVERNANCE retention yields to ``bypass_governance``.
    """
    cur = objects.get(conn, bucket, key)
    if cur is not None and cur.version_id == version_id:
        locks.check_delete(cur.meta, bypass_governance)
        objects.delete(conn, bucket, key)
        _promote(conn, bucket, key)
        return Removal(version_id, False, cur.blobs())
    v = get(conn, bucket, key, version_id)
    if v is None:
        return Removal(version_id, False, found=False)
    locks.check_delete(v.obj.meta, bypass_governance)
    top = newest(conn, bucket, key) if cur is None else None
    _remove(conn, v)
    if top is not None and top.obj.version == v.obj.version:
        _promote(conn, bucket, key)  # the newest delete marker went: an older version may be current again
    else:
        journal.append(conn, journal.Op.VERSION, bucket, key)
    return Removal(version_id, v.marker, v.obj.blobs())


def set_meta(conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str | None, meta: dict[str, str]) -> None:
    """Replace one version's metadata in place (its lock settings); the caller checked that it exists."""
    cur = conn.execute(
        "UPDATE objects SET meta=? WHERE bucket=? AND key=? AND version_id IS ?",
        (json.dumps(meta), bucket, key, version_id),
    )
    if not cur.rowcount:
        conn.execute(
            "UPDATE versions SET meta=? WHERE bucket=? AND key=? AND version_id IS ? AND marker=0",
            (json.dumps(meta), bucket, key, version_id),
        )
    journal.append(conn, journal.Op.VERSION, bucket, key)


def set_tags(
    conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str | None, tags: list[tuple[str, str]] | None
) -> bool:
    """Tag a noncurrent version; False if there is none of that id (or it is a delete marker)."""
    cur = conn.execute(
        "UPDATE versions SET tags=? WHERE bucket=? AND key=? AND version_id IS ? AND marker=0",
        (json.dumps(tags) if tags else None, bucket, key, version_id),
    )
    if cur.rowcount:
        journal.append(conn, journal.Op.VERSION, bucket, key)
    return cur.rowcount > 0


# ---------- listing ----------
@dataclass(slots=True)
class VersionListing:
    versions: list[Version] = field(default_factory=list)  # in S3's order: key ascending, newest first
    prefixes: list[bytes] = field(default_factory=list)
    truncated: bool = False
    next_key: bytes | None = None
    next_version_id: str | None = None  # S3's form ("null" for the null version)


_LIST_SQL = (
    "SELECT key, 0 AS noncurrent, version AS seq, version_id, 0, size, etag, mtime, meta "
    "FROM objects WHERE bucket=:b AND key>=:start AND key<:end "
    "UNION ALL SELECT key, 1, seq, version_id, marker, size, etag, mtime, meta "
    "FROM versions WHERE bucket=:b AND key>=:start AND key<:end ORDER BY 1, 2, 3 DESC"
)
_NO_END = b"\xff" * 1025  # above every key (keys are at most 1024 bytes)


def _rows(conn: sqlite3.Connection, bucket: str, start: bytes, end: bytes | None) -> Iterator[Version]:
    cur = conn.execute(_LIST_SQL, {"b": bucket, "start": start, "end": end if end is not None else _NO_END})
    try:
        prev: bytes | None = None
        for key, _noncurrent, seq, version_id, marker, size, etag, mtime, meta in cur:
            obj = Object(bucket, key, size, etag, mtime, seq, json.loads(meta), version_id=version_id)
            yield Version(obj, bool(marker), latest=key != prev)
            prev = key
    finally:
        cur.close()


def list_versions(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: bytes,
    delimiter: bytes,
    key_marker: bytes,
    version_id_marker: str | None,  # S3's form; only with a key marker
    max_keys: int,
) -> VersionListing:
    """One page of ListObjectVersions: versions and common prefixes after the markers."""
    out = VersionListing()
    if max_keys <= 0:
        return out
    end = successor(prefix) if prefix else None
    start = max(prefix, key_marker)
    count = 0
    while True:
        jumped = False
        for v in _rows(conn, bucket, start, end):
            key = v.obj.key
            if key_marker and key == key_marker:
                if version_id_marker is None:
                    continue
                if s3_id(v.obj.version_id) == version_id_marker:
                    version_id_marker = None  # the entries after it follow
                    key_marker = b""
                continue
            if delimiter:
                i = key.find(delimiter, len(prefix))
                if i >= 0:
                    cp = key[: i + len(delimiter)]
                    nxt = successor(cp)
                    if not (key_marker and cp <= key_marker):
                        if count == max_keys:
                            out.truncated = True
                            return out
                        out.prefixes.append(cp)
                        out.next_key, out.next_version_id = cp, None
                        count += 1
                    if nxt is None:
                        return out
                    start, jumped = nxt, True
                    break
            if count == max_keys:
                out.truncated = True
                return out
            out.versions.append(v)
            out.next_key, out.next_version_id = key, s3_id(v.obj.version_id)
            count += 1
        if not jumped:
            return out
