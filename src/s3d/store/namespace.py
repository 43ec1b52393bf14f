"""The namespace: what the S3 handlers ask about keys, and what differs between local and gateway mode.

Handlers use ``Store`` directly for what is the same in both modes (buckets, tags, listings, uploads)
and a ``Namespace`` for the rest: which object a read sees, where its bytes come from, whether a
write may start, and how a delete is recorded. ``LocalNamespace`` is the store alone;
``gateway.namespace.GatewayNamespace`` puts a remote and a block cache behind it (composition,
chosen in ``s3d/daemon.py``).
"""

from __future__ import annotations

from typing import Protocol

from s3d.store import decoded
from s3d.store.buckets import Bucket
from s3d.store.objects import Object
from s3d.store.ranges import Body
from s3d.store.store import DeletePrecondition, Store, close_spans
from s3d.store.versions import Removal
from s3d.store.writer import ObjectWriter


class Namespace(Protocol):
    store: Store

    async def find_with_bucket(self, bucket: str, key: bytes) -> tuple[Bucket | None, Object | None]: ...

    async def find_object(self, bucket: str, key: bytes) -> Object | None: ...

    async def discover_bucket(self, bucket: str) -> None:
        """Make a bucket that exists only behind the namespace (on the remote) known here, at once."""
        ...

    async def open_range(self, obj: Object, start: int, end: int) -> tuple[Body, str | None]:
        """Bytes [start, end] and how they were served (None in local mode; a cache status in gateway mode)."""
        ...

    def served_from(self, obj: Object) -> str | None:
        """How a body-less answer (HEAD, empty range) about this object was served; None in local mode."""
        ...

    async def read_into(self, obj: Object, start: int, end: int, writer: ObjectWriter) -> None:
        """Feed bytes [start, end] of an object to a writer (copies)."""
        ...

    async def delete_object(
        self,
        bucket: str,
        key: bytes,
        precondition: DeletePrecondition | None = None,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> Removal:
        """Delete a key, or one version of it (``version_id`` in S3's form; object lock applies)."""
        ...

    async def reserve_write(self, size: int) -> int | None:
        """Room for a write of ``size`` bytes (released by release_write); SlowDown when there is none."""
        ...

    async def release_write(self, reservation: int | None) -> None: ...

    async def tags_changed(self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> None: ...


class LocalNamespace:
    """Local mode: the store is the whole truth."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def find_with_bucket(self, bucket: str, key: bytes) -> tuple[Bucket | None, Object | None]:
        return self.store.find_with_bucket(bucket, key)

    async def find_object(self, bucket: str, key: bytes) -> Object | None:
        return self.store.get_object(bucket, key)

    async def discover_bucket(self, bucket: str) -> None:
        return None  # local mode: the store is every bucket there is

    async def open_range(self, obj: Object, start: int, end: int) -> tuple[Body, str | None]:
        if not self.store.blobs.by_fd:
            return await decoded.open_body(self.store, obj, start, end), None
        return self.store.open_range(obj, start, end), None

    def served_from(self, obj: Object) -> str | None:
        return None

    async def read_into(self, obj: Object, start: int, end: int, writer: ObjectWriter) -> None:
        if not self.store.blobs.by_fd:
            await decoded.read_into(self.store, obj, start, end, writer)
            return
        pieces = self.store.open_range(obj, start, end)
        try:
            await writer.copy(pieces)
        finally:
            close_spans(pieces)

    async def delete_object(
        self,
        bucket: str,
        key: bytes,
        precondition: DeletePrecondition | None = None,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> Removal:
        return await self.store.delete_object(
            bucket, key, precondition=precondition, version_id=version_id, bypass_governance=bypass_governance
        )

    async def reserve_write(self, size: int) -> int | None:
        return None

    async def release_write(self, reservation: int | None) -> None:
        return None

    async def tags_changed(self, bucket: str, key: bytes, tags: list[tuple[str, str]] | None) -> None:
        return None
