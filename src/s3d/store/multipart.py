"""Multipart uploads: parts are blobs of their own; completing does not copy data.

A completed object is stored as its list of parts (blob, size, md5), so CompleteMultipartUpload is
one metadata transaction however large the object. Part blobs pass from the upload to the object in
that same transaction, which is why it must be atomic: an upload row and an object row must never
both own a blob. Which parts make the object, and its ETag and checksum, are the caller's (S3's
rules, in the S3 layer); the store checks only that the chosen parts are still the stored ones.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from typing import Any

from s3d.store import buckets, objects, uploads, versions
from s3d.store.errors import NoSuchBucket, PartChanged
from s3d.store.objects import Conditions, Object, Part
from s3d.store.store import Store
from s3d.store.uploads import StoredPart, Upload

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10000
ALL = -1  # SQLite LIMIT: no limit
COMPLETED_UPLOAD_MEMORY_S = 24 * 3600  # how long a repeated CompleteMultipartUpload gets the same answer


class Multipart:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ---------- reads ----------
    def get_upload(self, upload_id: str, bucket: str, key: bytes) -> Upload:
        return uploads.get(self.store.reader, upload_id, bucket, key)

    def list_parts(self, upload_id: str, after: int = 0, limit: int = ALL) -> list[StoredPart]:
        return uploads.parts(self.store.reader, upload_id, after, limit)

    def list_uploads(self, bucket: str, prefix: bytes, key_marker: bytes, upload_id_marker: str) -> list[Upload]:
        """Uploads in (key, initiated) order after the markers, as S3 lists them."""
        out = []
        passed_id_marker = not upload_id_marker
        for u in uploads.in_bucket_from(self.store.reader, bucket, max(prefix, key_marker)):
            if not u.key.startswith(prefix):
                if u.key > prefix:
                    break
                continue
            if key_marker:
                if u.key < key_marker:
                    continue
                if u.key == key_marker:
                    if not upload_id_marker:
                        continue
                    if not passed_id_marker:
                        passed_id_marker = u.upload_id == upload_id_marker
                        continue
            out.append(u)
        return out

    def completed(self, upload_id: str, bucket: str, key: bytes, listed: list[tuple[int, str]]) -> Object | None:
        """The result of an upload completed (recently) with these (part number, ETag) pairs; None otherwise."""
        row = self.store.reader.execute(
            "SELECT bucket, key, parts, size, etag, checksum, completed FROM completed_uploads "
            "WHERE upload_id=? AND completed>=?",
            (upload_id, time.time() - COMPLETED_UPLOAD_MEMORY_S),
        ).fetchone()
        if row is None or row[0] != bucket or row[1] != key or row[2] != _parts_digest(listed):
            return None
        checksum = json.loads(row[5]) if row[5] else None
        return Object(bucket=bucket, key=key, size=row[3], etag=row[4], mtime=row[6], version=0, meta={},
                      checksum=checksum)  # fmt: skip

    # ---------- writes ----------
    async def create(self, bucket: str, key: bytes, meta: dict[str, Any], owner: str) -> str:
        upload_id = uuid.uuid4().hex + uuid.uuid4().hex[:16]

        def op(conn: sqlite3.Connection) -> None:
            if not buckets.exists(conn, bucket):
                raise NoSuchBucket(bucket=bucket)
            uploads.insert(conn, upload_id, bucket, key, meta, owner)

        self.store.need_room()
        await self.store.committer.run(op)
        return upload_id

    async def abort(self, upload_id: str, bucket: str, key: bytes) -> None:
        def op(conn: sqlite3.Connection) -> list[str]:
            uploads.get(conn, upload_id, bucket, key)
            return uploads.remove(conn, upload_id)

        self.store.blobs.remove(await self.store.committer.run(op))

    async def complete(
        self,
        upload: Upload,
        parts: list[Part],
        etag: str,
        checksum: dict[str, str] | None,
        cond: Conditions | None,
    ) -> Object:
        """Turn an upload into its object, made of the chosen parts, in one transaction."""
        meta = {k: v for k, v in upload.meta.items() if k not in ("tags", "checksum_algorithm", "checksum_type")}
        tags = upload.meta.get("tags")
        obj = Object(
            bucket=upload.bucket, key=upload.key, size=sum(p.size for p in parts), etag=etag, mtime=time.time(),
            version=objects.REMOTE_VERSION, meta=meta, checksum=checksum,
            tags=[(t[0], t[1]) for t in tags] if tags else None, parts=parts,
        )  # fmt: skip

        def op(conn: sqlite3.Connection) -> list[str]:
            uploads.get(conn, upload.upload_id, upload.bucket, upload.key)
            stored = {p.number: p for p in uploads.parts(conn, upload.upload_id)}
            for p in parts:
                sp = stored.get(p.number)
                if sp is None or sp.blob != p.blob:
                    raise PartChanged(p.number)
            found = buckets.write_state(conn, upload.bucket)
            if found is None:
                raise NoSuchBucket(bucket=upload.bucket)
            replaced = versions.write_current(conn, obj, cond, found)
            _remember_completed(conn, upload.upload_id, parts, obj)
            used = {p.blob for p in parts}
            unused = [b for b in uploads.remove(conn, upload.upload_id) if b not in used]
            return unused + replaced

        self.store.blobs.remove(await self.store.committer.run(op))
        return obj


def _parts_digest(listed: list[tuple[int, str]]) -> str:
    return hashlib.sha256(json.dumps([[n, etag.strip().strip('"')] for n, etag in listed]).encode()).hexdigest()


def _remember_completed(conn: sqlite3.Connection, upload_id: str, parts: list[Part], obj: Object) -> None:
    """Keep a completed upload's result for a while (``completed_uploads``): S3 answers a repeated Complete with it."""
    now = time.time()
    conn.execute("DELETE FROM completed_uploads WHERE completed<?", (now - COMPLETED_UPLOAD_MEMORY_S,))
    conn.execute(
        "INSERT OR REPLACE INTO completed_uploads (upload_id, bucket, key, parts, size, etag, checksum, completed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (upload_id, obj.bucket, obj.key, _parts_digest([(p.number, p.etag) for p in parts]), obj.size, obj.etag,
         json.dumps(obj.checksum) if obj.checksum else None, now),
    )  # fmt: skip


def completed_ids(conn: sqlite3.Connection, upload_ids: list[str]) -> set[str]:
    """Which of these uploads were completed (recently): the others that are gone were aborted."""
    if not upload_ids:
        return set()
    q = ",".join("?" * len(upload_ids))
    return {r[0] for r in conn.execute(f"SELECT upload_id FROM completed_uploads WHERE upload_id IN ({q})", upload_ids)}
