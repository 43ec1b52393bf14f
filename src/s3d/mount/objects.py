"""The S3 calls the mount makes, on one bucket and prefix: the only module that talks to the daemon.

Paths inside the mount are relative ("" is the mount's root, "a/b" a file or directory); a file is the object
`prefix + path`, a directory is every key under `prefix + path + "/"`, plus that key itself as a marker object.
"""

from __future__ import annotations

import errno
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from s3d import local_read
from s3d.local_read import LocalSpan
from s3d.mount.attrs import Entry, from_head, from_listing
from s3d.mount.errors import MountError
from s3d.mount.http import Requests
from s3d.mount.settings import (
    KEY_MAX_BYTES,
    NAME_MAX_BYTES,
    SINGLE_PUT_MAX,
    UPLOAD_PART,
    UPLOAD_THREADS,
    MountSettings,
    Target,
)
from s3d.object_keys import is_utf8

DELIMITER = "/"
PROBE_KEYS = 10  # keys one probe lists (a name, names that extend it, its directory)
CHECKSUM_ALGORITHM = "CRC32C"  # of each part of an upload (the daemon checks it)
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys
PRECONDITION_FAILED = "PreconditionFailed"
COPY_CHUNK = 1024 * 1024
POOL_CONNECTIONS = 32  # FUSE threads, read-ahead and upload parts share the pool
CONNECT_TIMEOUT_MAX = 5.0


def make_client(endpoint: str, access_key: str, secret_key: str, timeout: float, region: str) -> Any:
    """A botocore S3 client whose every call fails within about `timeout` seconds when the daemon is gone."""
    import boto3
    from botocore.config import Config

    cfg = Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        retries={"total_max_attempts": 2, "mode": "standard"},
        connect_timeout=min(timeout, CONNECT_TIMEOUT_MAX),
        read_timeout=timeout,
        max_pool_connections=POOL_CONNECTIONS,
        request_checksum_calculation="when_required",  # the signed SHA-256 of the payload already covers it
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        region_name=region, config=cfg,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    etag: str
    crc32c: str


@dataclass(slots=True)
class DirListing:
    files: dict[str, Entry] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    def children(self) -> dict[str, Entry]:
        """Every name in the directory; a name that is both an object and a prefix shows as the file."""
        out = {d: Entry(True) for d in self.dirs}
        out.update(self.files)
        return out


def _error_code(e: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return str(err.get("Code") or e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return ""


NOT_FOUND = {"NoSuchKey", "NotFound", "404"}


class Objects:
    def __init__(self, client: Any, settings: MountSettings) -> None:
        self.s3 = client
        self.target: Target = settings.target
        self.bucket = settings.target.bucket
        self.fast = Requests(client, settings.timeout)
        self._asking = threading.local()  # set while this thread's HEAD asks where the bytes lie
        if settings.local_read:
            client.meta.events.register("before-sign.s3.HeadObject", self._ask_local)

    def _ask_local(self, request: Any, **_: Any) -> None:
        if getattr(self._asking, "on", False):
            request.headers[local_read.HEADER] = local_read.ASK

    # names

    def key(self, path: str) -> str:
        """The object key of a file (the directory's key is `key(path) + "/"`); refuses names S3 cannot hold."""
        if not is_utf8(path):
            raise MountError(errno.EILSEQ, "S3 keys are UTF-8")
        for part in path.split("/"):
            if len(part.encode()) > NAME_MAX_BYTES:
                raise MountError(errno.ENAMETOOLONG)
        k = self.target.prefix + path
        if len(k.encode()) + len(DELIMITER) > KEY_MAX_BYTES:
            raise MountError(errno.ENAMETOOLONG)
        return k

    def dir_key(self, path: str) -> str:
        return self.key(path) + DELIMITER if path else self.target.prefix

    # reads

    def head(self, path: str) -> Entry | None:
        try:
            return from_head(self.s3.head_object(Bucket=self.bucket, Key=self.key(path)))
        except Exception as e:
            if _error_code(e) in NOT_FOUND:
                return None
            raise

    def head_with_etag(self, path: str) -> tuple[Entry, str] | None:
        h = self._head(path)
        return None if h is None else (from_head(h), str(h.get("ETag", "")))

    def head_to_read(self, path: str) -> tuple[Entry, str, tuple[LocalSpan, ...] | None] | None:
        """`head_with_etag`, and the daemon's blob files holding that version if it named them (s3d.local_read)."""
        self._asking.on = True
        try:
            h = self._head(path)
        finally:
            self._asking.on = False
        if h is None:
            return None
        named = h.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(local_read.HEADER)
        return from_head(h), str(h.get("ETag", "")), local_read.decode(named) if named else None

    def _head(self, path: str) -> Any:
        try:
            return self.s3.head_object(Bucket=self.bucket, Key=self.key(path))
        except Exception as e:
            if _error_code(e) in NOT_FOUND:
                return None
            raise

    def lookup_dir(self, path: str) -> Entry | None:
        """The directory `path` if any key lies under it (its marker included); mtime from the marker if any."""
        prefix = self.dir_key(path)
        r = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        items = r.get("Contents", [])
        if not items:
            return None
        first = items[0]
        if first["Key"] == prefix:  # the marker: its metadata (s3fs's mode/uid/gid) is the directory's
            try:
                return from_head(self.s3.head_object(Bucket=self.bucket, Key=prefix), is_dir=True)
            except Exception as e:
                if _error_code(e) not in NOT_FOUND:
                    raise
        return Entry(True, mtime_ns=from_listing(first).mtime_ns)

    def probe(self, path: str) -> tuple[bool, Entry | None]:
        """(sure, entry): the file (as listed) or directory `path`, or None when there is neither, from one small
        listing of the keys that start with its name; not sure when its first page cannot tell (many longer names)."""
        key = self.key(path)
        page = self.fast.list_page(self.bucket, key, DELIMITER, None, PROBE_KEYS)
        for item in page.contents:
            if item["Key"] == key:
                return True, from_listing(item)
        if key + DELIMITER in page.prefixes:
            return True, Entry(True)
        return page.next_token is None, None

    def list_dir(self, path: str) -> DirListing:
        prefix = self.dir_key(path)
        out = DirListing()
        token: str | None = None
        while True:
            page = self.fast.list_page(self.bucket, prefix, DELIMITER, token)
            for item in page.contents:
                name = item["Key"][len(prefix) :]
                if _usable(name):
                    out.files[name] = from_listing(item)
            for p in page.prefixes:
                name = p[len(prefix) : -len(DELIMITER)]
                if _usable(name):
                    out.dirs.add(name)
            if page.next_token is None:
                return out
            token = page.next_token

    def is_empty_dir(self, path: str) -> bool:
        prefix = self.dir_key(path)
        r = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=2)
        return all(item["Key"] == prefix for item in r.get("Contents", []))

    def keys_under(self, path: str) -> Iterator[tuple[str, str]]:
        """Every key under the directory `path`, its marker included, with its ETag."""
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.dir_key(path)):
            for item in page.get("Contents", []):
                yield str(item["Key"]), str(item["ETag"])

    def etag_of(self, key: str) -> str | None:
        """The ETag of a key's current object; None if there is none."""
        try:
            return str(self.s3.head_object(Bucket=self.bucket, Key=key)["ETag"])
        except Exception as e:
            if _error_code(e) in NOT_FOUND:
                return None
            raise

    def get_range_into(self, path: str, start: int, outs: list[memoryview], etag: str) -> None:
        """`outs` filled, in order, with the bytes from `start` on of the version whose ETag is `etag` (ESTALE once
        it was replaced)."""
        try:
            self.fast.get_range_into(self.bucket, self.key(path), start, etag, outs)
        except Exception as e:
            if _error_code(e) == "PreconditionFailed":
                raise MountError(errno.ESTALE, f"{path} was replaced while open") from None
            raise

    def download(self, path: str, out: BinaryIO, etag: str | None = None) -> None:
        """The whole object (the version whose ETag is `etag`, if given: ESTALE once it was replaced)."""
        try:
            r = self.s3.get_object(Bucket=self.bucket, Key=self.key(path), **({"IfMatch": etag} if etag else {}))
        except Exception as e:
            if _error_code(e) == "PreconditionFailed":
                raise MountError(errno.ESTALE, f"{path} was replaced while open") from None
            raise
        body = r["Body"]
        try:
            shutil.copyfileobj(body, out, COPY_CHUNK)
        finally:
            body.close()

    # writes

    def upload(self, path: str, staged: Path | bytes, size: int, meta: dict[str, str]) -> str:
        """The staged file (or bytes) becomes the object; returns (its ETag) once the daemon has it durably."""
        key = self.key(path)
        if size <= SINGLE_PUT_MAX or isinstance(staged, bytes):
            return self.fast.put_file(self.bucket, key, staged, size, meta)
        from boto3.s3.transfer import TransferConfig

        cfg = TransferConfig(
            multipart_threshold=UPLOAD_PART, multipart_chunksize=UPLOAD_PART, max_concurrency=UPLOAD_THREADS
        )
        self.s3.upload_file(str(staged), self.bucket, key, ExtraArgs={"Metadata": meta}, Config=cfg)
        head = self.head_with_etag(path)
        return head[1] if head is not None else ""

    # a multipart upload of a file as it is written (stream.py)

    def start_upload(self, path: str, meta: dict[str, str]) -> str:
        r = self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.key(path), Metadata=meta,
                                            ChecksumAlgorithm=CHECKSUM_ALGORITHM)  # fmt: skip
        return str(r["UploadId"])

    def upload_part(
        self, path: str, upload_id: str, number: int, staged: Path, offset: int, size: int, crc32c: str
    ) -> Part:
        query = f"partNumber={number}&uploadId={quote(upload_id)}"
        key = self.key(path)
        etag, _ = self.fast.put_range(self.bucket, key, staged, offset, size, {}, query, "UploadPart", crc32c)
        return Part(number, etag, crc32c)

    def complete_upload(self, path: str, upload_id: str, parts: list[Part]) -> str:
        listed = [{"PartNumber": p.number, "ETag": p.etag, "ChecksumCRC32C": p.crc32c} for p in parts]
        r = self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key(path), UploadId=upload_id,
                                              MultipartUpload={"Parts": listed})  # fmt: skip
        return str(r.get("ETag", ""))

    def abort_upload(self, path: str, upload_id: str) -> None:
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key(path), UploadId=upload_id)

    def put_dir(self, path: str, meta: dict[str, str]) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self.dir_key(path), Body=b"", Metadata=meta)

    def set_meta(self, key: str, meta: dict[str, str]) -> str:
        """Replace the user metadata of an object (a copy onto itself), keeping its bytes and content type."""
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        extra: dict[str, Any] = {}
        if head.get("ContentType"):
            extra["ContentType"] = head["ContentType"]
        merged = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()} | meta
        r = self.s3.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key},
                                MetadataDirective="REPLACE", Metadata=merged, **extra)  # fmt: skip
        return str(r.get("CopyObjectResult", {}).get("ETag", ""))

    def copy(self, src_key: str, dst_key: str) -> str:
        """Server-side copy, metadata included; returns the new object's ETag."""
        r = self.s3.copy_object(Bucket=self.bucket, Key=dst_key, CopySource={"Bucket": self.bucket, "Key": src_key})
        return str(r.get("CopyObjectResult", {}).get("ETag", ""))

    def copy_if(self, src_key: str, dst_key: str, src_etag: str) -> str | None:
        """A copy of the source only while it is the version of ``src_etag``: the new ETag, or None when the
        source changed or went since (nothing copied)."""
        try:
            r = self.s3.copy_object(Bucket=self.bucket, Key=dst_key, CopySource={"Bucket": self.bucket, "Key": src_key},
                                    CopySourceIfMatch=src_etag)  # fmt: skip
        except Exception as e:
            if _error_code(e) in (PRECONDITION_FAILED, *NOT_FOUND):
                return None
            raise
        return str(r.get("CopyObjectResult", {}).get("ETag", ""))

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def delete_many_if(self, versions: dict[str, str]) -> list[str]:
        """Delete each key only while it holds the version of its ETag (``versions``: key -> ETag); the keys that
        changed meanwhile, which are kept. A key already gone counts as deleted."""
        changed: list[str] = []
        items = list(versions.items())
        for i in range(0, len(items), DELETE_BATCH):
            batch = items[i : i + DELETE_BATCH]
            r = self.s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k, "ETag": e} for k, e in batch], "Quiet": True}
            )
            for err in r.get("Errors", []):
                if err.get("Code") == PRECONDITION_FAILED:
                    changed.append(str(err.get("Key")))
                elif err.get("Code") not in NOT_FOUND:
                    raise MountError(errno.EIO, f"DeleteObjects failed for {err.get('Key')}: {err.get('Code')}")
        return changed


def _usable(name: str) -> bool:
    """Names a directory entry can carry: not empty (a key with '//'), not '.' or '..', within NAME_MAX."""
    return name not in ("", ".", "..") and len(name.encode()) <= NAME_MAX_BYTES
