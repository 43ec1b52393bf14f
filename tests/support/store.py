"""Writing objects straight into an in-process Store, through its one object writer."""

from __future__ import annotations

from s3d.store.objects import Object
from s3d.store.store import Draft, Store

TEST_ETAG = "0" * 32


async def put_bytes(store: Store, bucket: str, key: bytes, data: bytes, etag: str = TEST_ETAG) -> Object:
    with store.writer(len(data)) as w:
        w.write(data)
        return await w.commit_object(Draft(bucket, key, etag, {}))
