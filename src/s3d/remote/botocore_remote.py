"""The real Remote: botocore's S3 client (credential chain, retries, signing) run on a thread pool."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from s3d import observe
from s3d.crypto.stream import PlainReader
from s3d.remote import NO_ANSWER, BlobSource, ListPage, Piece, RemoteError, RemoteNotFound, RemoteObject
from s3d.remote.settings import ConfigError, RemoteSettings
from s3d.user_metadata import PREFIX, decoded, encode

__all__ = ["BotocoreRemote", "ConfigError", "RemoteSettings"]

T = TypeVar("T")
log = logging.getLogger("s3d.remote")
READ_CHUNK = 1 << 20
READ_ATTEMPTS = 3
WRITE_ATTEMPTS = 1
ANY_ETAG = "*"  # If-None-Match: * -- write only if the key does not exist
PRECONDITION_FAILED = 412
RETRYABLE_CODES = {
    "SlowDown",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeTooSkewed",
    "Throttling",
}
META_PARAMS = {
    "content-type": "ContentType",
    "content-encoding": "ContentEncoding",
    "content-disposition": "ContentDisposition",
    "content-language": "ContentLanguage",
    "cache-control": "CacheControl",
}


class PieceReader(io.RawIOBase):
    """A seekable, read-only file over a list of pieces (file spans and bytes), for botocore to upload."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = pieces
        self.total = sum(p.size for p in pieces)
        self.pos = 0
        self.sources: dict[int, BlobSource] = {}  # by piece index: opened at its first read
        self.plain: dict[int, PlainReader] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.total}[whence]
        self.pos = max(0, min(self.total, base + offset))
        return self.pos

    def __len__(self) -> int:
        return self.total

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.total - self.pos
        out = bytearray()
        off = 0
        for i, p in enumerate(self.pieces):
            if len(out) >= n:
                break
            if self.pos < off + p.size:
                inner = self.pos - off
                want = min(p.size - inner, n - len(out))
                chunk = p.data[inner : inner + want] if p.data is not None else self._read_blob(i, p, inner, want)
                out += chunk
                self.pos += len(chunk)
            off += p.size
        return bytes(out)

    def _read_blob(self, i: int, p: Piece, inner: int, want: int) -> bytes:
        source = self.sources.get(i)
        if source is None:
            assert p.source is not None
            source = self.sources[i] = p.source()
        if p.key is not None:
            plain = self.plain.get(i)
            if plain is None:
                plain = self.plain[i] = PlainReader(source.read_at, p.key, p.offset + p.length)
            chunk = plain.read(p.offset + inner, want)
        else:
            chunk = source.read_at(p.offset + inner, want)
        if len(chunk) != want:
            raise OSError(f"a blob is shorter than expected ({len(chunk)} of {want} bytes at {p.offset + inner})")
        return chunk

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        for source in self.sources.values():
            source.close()
        self.sources.clear()
        self.plain.clear()
        super().close()


def _error(e: Exception) -> RemoteError:
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        code = str(err.get("Code") or status)
        msg = str(err.get("Message") or e)
        if status == 404 or code in ("NoSuchKey", "NoSuchBucket", "404"):
            return RemoteNotFound(code, msg)
        retryable = status >= 500 or status in (408, 429) or code in RETRYABLE_CODES
        return RemoteError(code, msg, status, retryable)
    if isinstance(e, EndpointConnectionError | ConnectTimeoutError):
        return RemoteError(type(e).__name__, str(e), NO_ANSWER, True)  # never reached the remote
    if isinstance(e, BotoCoreError):
        return RemoteError(type(e).__name__, str(e), NO_ANSWER, True, ambiguous=True)
    if isinstance(e, OSError):
        return RemoteError("IOError", str(e), NO_ANSWER, True, ambiguous=True)
    return RemoteError(type(e).__name__, str(e), NO_ANSWER, True, ambiguous=True)


def _meta_params(meta: dict[str, str], tags: list[tuple[str, str]] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for k, v in meta.items():
        if k in META_PARAMS:
            params[META_PARAMS[k]] = v
        elif k == "expires":
            try:
                params["Expires"] = parsedate_to_datetime(v)
            except (TypeError, ValueError):
                pass
    # RFC 2047 encoded as S3 answers them (botocore refuses non-ASCII metadata); the remote decodes them
    user = {k[len(PREFIX) :]: encode(v) for k, v in meta.items() if k.startswith(PREFIX)}
    if user:
        params["Metadata"] = user
    if tags:
        params["Tagging"] = urlencode(tags)
    return params


def _remote_object(key: str, r: dict[str, Any]) -> RemoteObject:
    meta = decoded({f"{PREFIX}{k.lower()}": v for k, v in (r.get("Metadata") or {}).items()})
    for header, param in META_PARAMS.items():
        if r.get(param):
            meta[header] = r[param]
    lm = r.get("LastModified")
    return RemoteObject(
        key=key,
        size=int(r.get("ContentLength", r.get("Size", 0))),
        etag=str(r.get("ETag", "")).strip('"'),
        mtime=lm.timestamp() if lm is not None else 0.0,
        meta=meta,
        parts_count=r.get("PartsCount"),
    )


class BotocoreRemote:
    def __init__(self, settings: RemoteSettings) -> None:
        settings.validate()
        self.settings = settings
        session = botocore.session.Session(profile=settings.profile)

        def client(attempts: int) -> Any:
            return session.create_client(
                "s3",
                endpoint_url=settings.url,
                region_name=settings.region,
                config=Config(
                    s3={"addressing_style": "path" if settings.path_style else "virtual"},
                    retries={"mode": "standard", "max_attempts": attempts},
                    connect_timeout=settings.connect_timeout,
                    read_timeout=settings.read_timeout,
                    max_pool_connections=settings.concurrency,
                    # we send Content-MD5 (the part's own MD5, known already) instead of re-reading for a CRC
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )

        # Reads retry inside botocore. Writes never do: an attempt that timed out may still land on the
        # remote after a later one succeeded, so the caller (the shipper) must see every failure to know
        # that the key's remote state is uncertain.
        self.client = client(READ_ATTEMPTS)
        self.writer = client(WRITE_ATTEMPTS)
        self.pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="s3d-remote")
        self.bare_if_match = False  # learnt: the remote matches If-Match only without the ETag's quotes
        self.calls = 0
        self.bytes_in = 0
        self.bytes_out = 0

    def bucket(self, local: str) -> str:
        return self.settings.bucket_map.get(local) or self.settings.bucket_prefix + local

    def local_name(self, remote_bucket: str) -> str | None:
        return self.settings.local_name(remote_bucket)

    async def _run(self, fn: Callable[[], T], operation: str = "call") -> T:
        self.calls += 1
        observe.count_remote_call()
        obs = observe.get()
        started = time.perf_counter()
        code: str | None = None
        try:
            with obs.span("remote." + operation):
                return await asyncio.get_running_loop().run_in_executor(self.pool, fn)
        except RemoteError as e:
            code = e.code
            raise
        except FileNotFoundError:
            raise  # a local blob replaced while it was being sent: the caller's business, not the remote's
        except Exception as e:  # noqa: BLE001 - every failure becomes a RemoteError
            err = _error(e)
            code = err.code
            raise err from e
        finally:
            obs.remote_call(operation, code, time.perf_counter() - started)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
        self.writer.close()

    # ---------- buckets ----------
    async def ensure_bucket(self, bucket: str) -> None:
        name = self.bucket(bucket)

        def call() -> None:
            try:
                self.client.head_bucket(Bucket=name)
                return
            except ClientError as e:
                if int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) != 404:
                    raise
            kwargs: dict[str, Any] = {"Bucket": name}
            if self.settings.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
            try:
                self.writer.create_bucket(**kwargs)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

        await self._run(call, "ensure_bucket")

    async def delete_bucket(self, bucket: str) -> None:
        await self._run(lambda: self.writer.delete_bucket(Bucket=self.bucket(bucket)), "delete_bucket")

    async def list_buckets(self) -> list[str]:
        r = await self._run(lambda: self.client.list_buckets(), "list_buckets")
        return [b["Name"] for b in r.get("Buckets", [])]

    async def bucket_exists(self, bucket: str) -> bool:
        name = self.bucket(bucket)

        def call() -> bool:
            try:
                self.client.head_bucket(Bucket=name)
                return True
            except ClientError as e:
                if int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) == 404:
                    return False
                raise

        return await self._run(call, "head_bucket")

    def _write_condition(self, if_match: str | None, if_absent: bool) -> dict[str, str]:
        """The conditional-write parameters of PutObject / CompleteMultipartUpload."""
        if if_match:
            return {"IfMatch": if_match if self.bare_if_match else f'"{if_match}"'}
        return {"IfNoneMatch": ANY_ETAG} if if_absent else {}

    async def _conditional(
        self, bucket: str, key: str, if_match: str | None, write: Callable[[], Awaitable[str]]
    ) -> str:
        """``write()``; on a 412 to ``If-Match`` while the remote does hold that very ETag, the remote compared the
        header with its quotes (Ceph RGW 16 does): retry once with the bare ETag, and send it bare from then on."""
        try:
            return await write()
        except RemoteError as e:
            if e.status != PRECONDITION_FAILED or not if_match or self.bare_if_match:
                raise
            held = await self.head_object(bucket, key)
            if held is None or held.etag != if_match:
                raise
        self.bare_if_match = True
        log.info("remote %s compares If-Match with the bare ETag: sending it unquoted", self.settings.url)
        return await write()

    def _remote_sse(self) -> dict[str, str]:
        """The remote's own encryption of what s3d ships, when the settings ask for it (remote_sse)."""
        if self.settings.sse is None:
            return {}
        params = {"ServerSideEncryption": self.settings.sse}
        if self.settings.sse_kms_key_id:
            params["SSEKMSKeyId"] = self.settings.sse_kms_key_id
        return params

    # ---------- writes ----------
    async def put_object(
        self,
        bucket: str,
        key: str,
        body: list[Piece],
        meta: dict[str, str],
        tags: list[tuple[str, str]] | None,
        md5: str | None = None,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str:
        def call() -> str:
            reader = PieceReader(body)
            try:
                kwargs = {"Bucket": self.bucket(bucket), "Key": key, "Body": reader, "ContentLength": reader.total}
                if md5:
                    kwargs["ContentMD5"] = base64.b64encode(bytes.fromhex(md5)).decode()
                kwargs.update(self._write_condition(if_match, if_absent))
                r = self.writer.put_object(**kwargs, **_meta_params(meta, tags), **self._remote_sse())
                self.bytes_out += reader.total
                return str(r["ETag"]).strip('"')
            finally:
                reader.close()

        return await self._conditional(bucket, key, if_match, lambda: self._run(call, "put_object"))

    async def create_multipart(
        self, bucket: str, key: str, meta: dict[str, str], tags: list[tuple[str, str]] | None
    ) -> str:
        r = await self._run(
            lambda: self.writer.create_multipart_upload(
                Bucket=self.bucket(bucket), Key=key, **_meta_params(meta, tags), **self._remote_sse()
            ),
            "create_multipart_upload",
        )
        return str(r["UploadId"])

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, body: list[Piece], md5: str | None = None
    ) -> str:
        def call() -> str:
            reader = PieceReader(body)
            try:
                kwargs: dict[str, Any] = {
                    "Bucket": self.bucket(bucket), "Key": key, "UploadId": upload_id, "PartNumber": number,
                    "Body": reader, "ContentLength": reader.total,
                }  # fmt: skip
                if md5:
                    kwargs["ContentMD5"] = base64.b64encode(bytes.fromhex(md5)).decode()
                r = self.writer.upload_part(**kwargs)
                self.bytes_out += reader.total
                return str(r["ETag"]).strip('"')
            finally:
                reader.close()

        return await self._run(call, "upload_part")

    async def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str:
        async def complete() -> str:
            condition = self._write_condition(if_match, if_absent)
            r = await self._run(
                lambda: self.writer.complete_multipart_upload(
                    Bucket=self.bucket(bucket), Key=key, UploadId=upload_id,
                    MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f'"{e}"'} for n, e in parts]}, **condition,
                ),
                "complete_multipart_upload",
            )  # fmt: skip
            return str(r["ETag"]).strip('"')

        return await self._conditional(bucket, key, if_match, complete)

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        await self._run(
            lambda: self.writer.abort_multipart_upload(Bucket=self.bucket(bucket), Key=key, UploadId=upload_id),
            "abort_multipart_upload",
        )

    async def put_tags(self, bucket: str, key: str, tags: list[tuple[str, str]] | None) -> None:
        if tags:
            ts = {"TagSet": [{"Key": k, "Value": v} for k, v in tags]}
            await self._run(
                lambda: self.writer.put_object_tagging(Bucket=self.bucket(bucket), Key=key, Tagging=ts),
                "put_object_tagging",
            )
        else:
            await self._run(
                lambda: self.writer.delete_object_tagging(Bucket=self.bucket(bucket), Key=key), "delete_object_tagging"
            )

    async def get_tags(self, bucket: str, key: str) -> list[tuple[str, str]]:
        r = await self._run(
            lambda: self.client.get_object_tagging(Bucket=self.bucket(bucket), Key=key), "get_object_tagging"
        )
        return [(t["Key"], t["Value"]) for t in r.get("TagSet", [])]

    async def delete_object(self, bucket: str, key: str, if_match: str | None = None) -> None:
        async def delete() -> str:
            condition = self._write_condition(if_match, False)
            call = lambda: self.writer.delete_object(Bucket=self.bucket(bucket), Key=key, **condition)  # noqa: E731
            await self._run(call, "delete_object")
            return ""

        await self._conditional(bucket, key, if_match, delete)

    # ---------- reads ----------
    async def head_object(self, bucket: str, key: str) -> RemoteObject | None:
        try:
            r = await self._run(lambda: self.client.head_object(Bucket=self.bucket(bucket), Key=key), "head_object")
        except RemoteNotFound:
            return None
        return _remote_object(key, r)

    async def get_object(
        self, bucket: str, key: str, start: int | None = None, end: int | None = None, if_match: str | None = None
    ) -> tuple[RemoteObject, AsyncIterator[bytes]]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket(bucket), "Key": key}
        if start is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
        if if_match:
            kwargs["IfMatch"] = f'"{if_match}"'
        r = await self._run(lambda: self.client.get_object(**kwargs), "get_object")
        obj = _remote_object(key, r)
        stream = r["Body"]
        cr = r.get("ContentRange")
        if cr and "/" in cr:
            obj.size = int(cr.rsplit("/", 1)[1])

        async def chunks() -> AsyncIterator[bytes]:
            loop = asyncio.get_running_loop()
            try:
                while True:
                    try:
                        data = await loop.run_in_executor(self.pool, stream.read, READ_CHUNK)
                    except Exception as e:  # noqa: BLE001
                        raise _error(e) from e
                    if not data:
                        return
                    self.bytes_in += len(data)
                    yield data
            finally:
                stream.close()

        return obj, chunks()

    async def list_page(self, bucket: str, prefix: str, token: str | None) -> ListPage:
        kwargs: dict[str, Any] = {"Bucket": self.bucket(bucket), "Prefix": prefix, "MaxKeys": 1000}
        if token:
            kwargs["ContinuationToken"] = token
        r = await self._run(lambda: self.client.list_objects_v2(**kwargs), "list_objects_v2")
        objs = [
            RemoteObject(o["Key"], int(o["Size"]), str(o["ETag"]).strip('"'), o["LastModified"].timestamp())
            for o in r.get("Contents", [])
        ]
        return ListPage(objs, r.get("NextContinuationToken") if r.get("IsTruncated") else None)
