"""Multipart uploads: parts are blobs of their own; completing does not copy data.

A completed object is stored as its list of parts (blob, size, md5), so
CompleteMultipartUpload is one metadata transaction however large the object.
Part blobs pass from the upload to the object in that same transaction, which
is why it must be atomic: an upload row and an object row must never both own
a blob.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from s3d.s3 import checksums
from s3d.s3.errors import S3Error
from s3d.store.store import OBJECT_COLUMNS, Conditions, Object, Part, Store, _old_blobs, check_conditions, journal

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10000
COMPLETED_UPLOAD_MEMORY_S = 24 * 3600  # how long a repeated CompleteMultipartUpload gets the same answer


@dataclass(slots=True)
class Upload:
    upload_id: str
    bucket: str
    key: bytes
    initiated: float
    meta: dict[str, Any]  # object metadata plus "tags", "checksum_algorithm", "checksum_type"
    owner: str


@dataclass(slots=True)
class StoredPart:
    number: int
    size: int
    etag: str
    mtime: float
    blob: str
    checksum: dict[str, str] | None


@dataclass(slots=True)
class CompletedPart:
    """One entry of a CompleteMultipartUpload request."""

    number: int
    etag: str
    checksums: dict[str, str]  # algorithm -> value the client listed


def _upload(row: tuple[Any, ...]) -> Upload:
    return Upload(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])


def _no_upload(upload_id: str) -> S3Error:
    return S3Error("NoSuchUpload", extra={"UploadId": upload_id})


class Multipart:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ---------- reads ----------
    def get_upload(self, upload_id: str, bucket: str, key: bytes) -> Upload:
        row = self.store.reader.execute(
            "SELECT upload_id, bucket, key, initiated, meta, owner FROM uploads WHERE upload_id=?", (upload_id,)
        ).fetchone()
        if row is None or row[1] != bucket or row[2] != key:
            raise _no_upload(upload_id)
        return _upload(row)

    def list_parts(self, upload_id: str, after: int, limit: int) -> list[StoredPart]:
        rows = self.store.reader.execute(
            "SELECT part_number, size, etag, mtime, blob, checksum FROM parts WHERE upload_id=? AND part_number>? "
            "ORDER BY part_number LIMIT ?",
            (upload_id, after, limit),
        ).fetchall()
        return [StoredPart(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None) for r in rows]

    def list_uploads(self, bucket: str, prefix: bytes, key_marker: bytes, upload_id_marker: str) -> list[Upload]:
        """Uploads in (key, initiated) order after the markers, as S3 lists them."""
        rows = self.store.reader.execute(
            "SELECT upload_id, bucket, key, initiated, meta, owner FROM uploads WHERE bucket=? AND key>=? "
            "ORDER BY key, initiated, upload_id",
            (bucket, max(prefix, key_marker)),
        ).fetchall()
        out = []
        passed_id_marker = not upload_id_marker
        for r in rows:
            u = _upload(r)
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

    # ---------- writes ----------
    async def create(self, bucket: str, key: bytes, meta: dict[str, Any], owner: str) -> str:
        upload_id = uuid.uuid4().hex + uuid.uuid4().hex[:16]

        def op(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone() is None:
                raise S3Error("NoSuchBucket", extra={"BucketName": bucket})
            conn.execute(
                "INSERT INTO uploads (upload_id, bucket, key, initiated, meta, owner) VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, bucket, key, time.time(), json.dumps(meta), owner),
            )

        await self.store.committer.run(op)
        return upload_id

    async def put_part(self, upload_id: str, part: StoredPart) -> None:
        """Record a part whose blob is already durable; a part re-uploaded under the same number replaces it."""

        def op(conn: sqlite3.Connection) -> str | None:
            if conn.execute("SELECT 1 FROM uploads WHERE upload_id=?", (upload_id,)).fetchone() is None:
                raise _no_upload(upload_id)
            old = conn.execute(
                "SELECT blob FROM parts WHERE upload_id=? AND part_number=?", (upload_id, part.number)
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO parts (upload_id, part_number, size, etag, mtime, blob, checksum) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (upload_id, part.number, part.size, part.etag, part.mtime, part.blob,
                 json.dumps(part.checksum) if part.checksum else None),
            )  # fmt: skip
            return old[0] if old else None

        replaced = await self.store.commit_new_blobs(op, [part.blob])
        if replaced:
            self.store.blobs.remove([replaced])

    async def abort(self, upload_id: str, bucket: str, key: bytes) -> None:
        def op(conn: sqlite3.Connection) -> list[str]:
            row = conn.execute("SELECT bucket, key FROM uploads WHERE upload_id=?", (upload_id,)).fetchone()
            if row is None or row[0] != bucket or row[1] != key:
                raise _no_upload(upload_id)
            blobs = [r[0] for r in conn.execute("SELECT blob FROM parts WHERE upload_id=?", (upload_id,))]
            conn.execute("DELETE FROM parts WHERE upload_id=?", (upload_id,))
            conn.execute("DELETE FROM uploads WHERE upload_id=?", (upload_id,))
            return blobs

        self.store.blobs.remove(await self.store.committer.run(op))

    async def complete(
        self,
        upload_id: str,
        bucket: str,
        key: bytes,
        listed: list[CompletedPart],
        cond: Conditions | None,
        verify: Callable[[Object], None] | None = None,
    ) -> Object:
        """Assemble the object; ``verify`` may refuse it before it commits. A repeat with the same parts replays."""

        def op(conn: sqlite3.Connection) -> tuple[Object, list[str]]:
            row = conn.execute(
                "SELECT upload_id, bucket, key, initiated, meta, owner FROM uploads WHERE upload_id=?", (upload_id,)
            ).fetchone()
            if row is None:
                return _replay(conn, upload_id, bucket, key, listed), []
            if row[1] != bucket or row[2] != key:
                raise _no_upload(upload_id)
            upload = _upload(row)
            stored = {
                r[0]: StoredPart(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None)
                for r in conn.execute(
                    "SELECT part_number, size, etag, mtime, blob, checksum FROM parts WHERE upload_id=?", (upload_id,)
                )
            }
            parts = assemble(upload, stored, listed)
            obj = build_object(upload, parts)
            if verify is not None:
                verify(obj)
            old = conn.execute(
                "SELECT etag, blob, parts FROM objects WHERE bucket=? AND key=?", (bucket, key)
            ).fetchone()
            check_conditions(old[0] if old else None, cond)
            obj.version = journal(conn, "put", bucket, key, obj.size)
            conn.execute(
                f"INSERT OR REPLACE INTO objects ({OBJECT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (obj.bucket, obj.key, obj.size, obj.etag, obj.mtime, obj.version, json.dumps(obj.meta),
                 json.dumps(obj.checksum) if obj.checksum else None, json.dumps(obj.tags) if obj.tags else None,
                 None, json.dumps([[p.number, p.size, p.etag, p.blob, p.checksum] for p in parts]), None),
            )  # fmt: skip
            conn.execute("DELETE FROM parts WHERE upload_id=?", (upload_id,))
            conn.execute("DELETE FROM uploads WHERE upload_id=?", (upload_id,))
            _remember_completed(conn, upload_id, listed, obj)
            used = {p.blob for p in parts}
            unused = [p.blob for p in stored.values() if p.blob not in used]
            return obj, unused + _old_blobs(old, obj)

        obj, garbage = await self.store.committer.run(op)
        self.store.blobs.remove(garbage)
        return obj


def _listed_digest(listed: list[CompletedPart]) -> str:
    return hashlib.sha256(json.dumps([[c.number, c.etag.strip().strip('"')] for c in listed]).encode()).hexdigest()


def _remember_completed(conn: sqlite3.Connection, upload_id: str, listed: list[CompletedPart], obj: Object) -> None:
    """Keep a completed upload's result for a while: S3 answers a repeated Complete with it."""
    now = time.time()
    conn.execute("DELETE FROM completed_uploads WHERE completed<?", (now - COMPLETED_UPLOAD_MEMORY_S,))
    conn.execute(
        "INSERT OR REPLACE INTO completed_uploads (upload_id, bucket, key, parts, size, etag, checksum, completed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (upload_id, obj.bucket, obj.key, _listed_digest(listed), obj.size, obj.etag,
         json.dumps(obj.checksum) if obj.checksum else None, now),
    )  # fmt: skip


def _replay(conn: sqlite3.Connection, upload_id: str, bucket: str, key: bytes, listed: list[CompletedPart]) -> Object:
    """The result of an upload completed earlier with the same parts; NoSuchUpload otherwise."""
    row = conn.execute(
        "SELECT bucket, key, parts, size, etag, checksum, completed FROM completed_uploads WHERE upload_id=? "
        "AND completed>=?",
        (upload_id, time.time() - COMPLETED_UPLOAD_MEMORY_S),
    ).fetchone()
    if row is None or row[0] != bucket or row[1] != key or row[2] != _listed_digest(listed):
        raise _no_upload(upload_id)
    checksum = json.loads(row[5]) if row[5] else None
    return Object(bucket=bucket, key=key, size=row[3], etag=row[4], mtime=row[6], version=0, meta={}, checksum=checksum)


def assemble(upload: Upload, stored: dict[int, StoredPart], listed: list[CompletedPart]) -> list[Part]:
    """Check a CompleteMultipartUpload part list against what was uploaded, as S3 does."""
    if not listed:
        raise S3Error("MalformedXML", "You must specify at least one part")
    numbers = [c.number for c in listed]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise S3Error("InvalidPartOrder")
    parts: list[Part] = []
    algo = upload.meta.get("checksum_algorithm")
    for i, c in enumerate(listed):
        sp = stored.get(c.number)
        if sp is None or sp.etag != c.etag.strip().strip('"'):
            raise S3Error(
                "InvalidPart", extra={"UploadId": upload.upload_id, "PartNumber": str(c.number), "ETag": c.etag}
            )
        for a, v in c.checksums.items():
            have = sp.checksum.get("value") if sp.checksum and sp.checksum.get("algorithm") == a else None
            if have is not None and have != v:
                raise S3Error("InvalidPart", f"The {a.lower()} checksum of part {c.number} does not match.")
        if algo and (sp.checksum is None or sp.checksum.get("algorithm") != algo):
            raise S3Error(
                "InvalidRequest", f"The upload was created using a {algo.lower()} checksum. Part {c.number} has none."
            )
        if i < len(listed) - 1 and sp.size < MIN_PART_SIZE:
            raise S3Error(
                "EntityTooSmall",
                extra={"ProposedSize": str(sp.size), "MinSizeAllowed": str(MIN_PART_SIZE), "PartNumber": str(c.number)},
            )
        parts.append(Part(sp.number, sp.size, sp.etag, sp.blob, sp.checksum))
    return parts


def multipart_etag(parts: list[Part]) -> str:
    md5 = hashlib.md5()
    for p in parts:
        md5.update(bytes.fromhex(p.etag))
    return f"{md5.hexdigest()}-{len(parts)}"


def object_checksum(upload: Upload, parts: list[Part]) -> dict[str, str] | None:
    algo = upload.meta.get("checksum_algorithm")
    ctype = upload.meta.get("checksum_type") or ("FULL_OBJECT" if algo in checksums.FULL_OBJECT_ONLY else "COMPOSITE")
    if algo is None:
        # no algorithm asked for: S3's default, a full-object CRC64NVME, when every part has one
        if parts and all(p.checksum and p.checksum.get("algorithm") == "CRC64NVME" for p in parts):
            algo, ctype = "CRC64NVME", "FULL_OBJECT"
        else:
            return None
    values = [p.checksum["value"] for p in parts if p.checksum]
    if len(values) != len(parts):
        return None
    if ctype == "FULL_OBJECT":
        value = checksums.combine_crc(algo, [(v, p.size) for v, p in zip(values, parts, strict=True)])
    else:
        value = checksums.composite(algo, values)
    return {"algorithm": algo, "value": value, "type": ctype}


def build_object(upload: Upload, parts: list[Part]) -> Object:
    meta = {k: v for k, v in upload.meta.items() if k not in ("tags", "checksum_algorithm", "checksum_type")}
    tags = upload.meta.get("tags")
    return Object(
        bucket=upload.bucket,
        key=upload.key,
        size=sum(p.size for p in parts),
        etag=multipart_etag(parts),
        mtime=time.time(),
        version=0,
        meta=meta,
        checksum=object_checksum(upload, parts),
        tags=[(t[0], t[1]) for t in tags] if tags else None,
        parts=parts,
    )
