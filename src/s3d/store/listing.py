"""Listing keys with prefix/delimiter by seeking in the (bucket, key) index.

A common prefix is emitted once and the scan then jumps past every key that
shares it, so a delimiter listing never reads the keys under a folder, and the
first page of a huge bucket costs the same as that of a small one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field


@dataclass(slots=True)
class Entry:
    key: bytes
    size: int
    etag: str
    mtime: float
    storage_class: str | None = None  # None: STANDARD


@dataclass(slots=True)
class Listing:
    entries: list[Entry] = field(default_factory=list)
    prefixes: list[bytes] = field(default_factory=list)
    truncated: bool = False
    next_marker: bytes | None = None  # the last key or prefix returned, when truncated


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with prefix."""
    p = prefix.rstrip(b"\xff")
    if not p:
        return None
    return p[:-1] + bytes([p[-1] + 1])


def _scan(conn: sqlite3.Connection, bucket: str, start: bytes, inclusive: bool, end: bytes | None) -> sqlite3.Cursor:
    op = ">=" if inclusive else ">"
    sql = f"SELECT key, size, etag, mtime, json_extract(meta, '$.\"x-amz-storage-class\"') FROM objects WHERE bucket=? AND key {op} ?"
    args: list[object] = [bucket, start]
    if end is not None:
        sql += " AND key < ?"
        args.append(end)
    return conn.execute(sql + " ORDER BY key", args)


def list_keys(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: bytes,
    delimiter: bytes,
    after: bytes,
    max_keys: int,
) -> Listing:
    """One page of keys and common prefixes after ``after``, as S3 lists them.

    Rows are stepped one at a time (no LIMIT, no fetchall): a page reads at most
    max_keys + 1 rows plus one row per common prefix, because on meeting a
    prefix the scan is abandoned and a new one starts past it. A common prefix
    that sorts at or before ``after`` was already returned (it is what a
    previous page's NextMarker says), so it is skipped with its keys.
    """
    out = Listing()
    if max_keys <= 0:
        return out
    end = successor(prefix) if prefix else None
    if after >= prefix:
        cursor_key, inclusive = after, False
    else:
        cursor_key, inclusive = prefix, True
    count = 0
    while True:
        cur = _scan(conn, bucket, cursor_key, inclusive, end)
        jumped = False
        try:
            for key, size, etag, mtime, sclass in cur:
                if delimiter:
                    i = key.find(delimiter, len(prefix))
                    if i >= 0:
                        cp = key[: i + len(delimiter)]
                        if cp > after:
                            if count == max_keys:
                                out.truncated = True
                                return out
                            out.prefixes.append(cp)
                            out.next_marker = cp
                            count += 1
                        nxt = successor(cp)
                        if nxt is None:
                            return out
                        cursor_key, inclusive, jumped = nxt, True, True
                        break
                if count == max_keys:
                    out.truncated = True
                    return out
                out.entries.append(Entry(key, size, etag, mtime, sclass))
                out.next_marker = key
                count += 1
        finally:
            cur.close()
        if not jumped:
            return out
