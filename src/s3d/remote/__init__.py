"""The remote S3 seam: everything s3d asks of a remote store, and nothing else.

The rest of s3d talks to a ``Remote``; ``botocore_remote.BotocoreRemote`` is
the one real implementation (as httpx puts transports behind handle_request).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol


class RemoteError(Exception):
    """A remote call failed.

    ``status``: the remote's HTTP status, or NO_ANSWER. ``retryable`` is False for answers that will not
    change by retrying soon. ``ambiguous``: the request may have reached the remote and may still take
    effect there (a read timeout, a connection closed mid-request): its outcome is unknown.
    """

    def __init__(
        self, code: str, message: str, status: int = 0, retryable: bool = True, ambiguous: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retryable = retryable
        self.ambiguous = ambiguous


NO_ANSWER = 0  # RemoteError.status when the remote did not answer at all


class RemoteNotFound(RemoteError):
    def __init__(self, code: str = "NoSuchKey", message: str = "not found") -> None:
        super().__init__(code, message, 404, retryable=False)


class BlobSource(Protocol):
    """Random reads of one stored blob (a file, or an erasure-coded blob decoded stripe by stripe)."""

    def read_at(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Piece:
    """A span of a stored blob (``source`` opens it; offset, length: plaintext offsets when ``key`` is set) or
    literal bytes, to upload."""

    source: Callable[[], BlobSource] | None = None  # opened when the upload first reads it, closed after
    offset: int = 0
    length: int = 0
    data: bytes | None = None
    key: bytes | None = None  # the blob is in the at-rest encrypted format: read it with this data key

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.length


@dataclass(slots=True)
class RemoteObject:
    key: str
    size: int
    etag: str  # unquoted
    mtime: float
    meta: dict[str, str] = field(default_factory=dict)  # content-type etc. and x-amz-meta-*, lower-case names
    parts_count: int | None = None


@dataclass(slots=True)
class ListPage:
    objects: list[RemoteObject]
    next_token: str | None


class Remote(Protocol):
    async def ensure_bucket(self, bucket: str) -> None: ...
    async def delete_bucket(self, bucket: str) -> None: ...
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
        """``if_match``: only over that remote ETag; ``if_absent``: only if the key does not exist there
        (``If-None-Match: *``). RemoteError with status 412 when the remote refuses; a remote that ignores
        conditional writes just writes."""
        ...

    async def create_multipart(
        self, bucket: str, key: str, meta: dict[str, str], tags: list[tuple[str, str]] | None
    ) -> str: ...
    async def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, body: list[Piece], md5: str | None = None
    ) -> str: ...
    async def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str:
        """``if_match`` / ``if_absent``: as for put_object."""
        ...

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None: ...
    async def put_tags(self, bucket: str, key: str, tags: list[tuple[str, str]] | None) -> None: ...
    async def get_tags(self, bucket: str, key: str) -> list[tuple[str, str]]: ...
    async def head_object(self, bucket: str, key: str) -> RemoteObject | None: ...
    async def get_object(
        self, bucket: str, key: str, start: int | None = None, end: int | None = None, if_match: str | None = None
    ) -> tuple[RemoteObject, AsyncIterator[bytes]]: ...
    async def delete_object(self, bucket: str, key: str, if_match: str | None = None) -> None:
        """``if_match``: only that remote ETag (412 if another writer moved the key on); a remote that ignores
        conditional deletes just deletes."""
        ...

    async def list_page(self, bucket: str, prefix: str, token: str | None) -> ListPage: ...
    async def list_buckets(self) -> list[str]: ...
    async def bucket_exists(self, bucket: str) -> bool: ...
    def local_name(self, remote_bucket: str) -> str | None:
        """The local bucket a remote bucket stands for; None if it is not one of ours."""
        ...

    def close(self) -> None: ...
