"""A bucket with 20,000 keys in one folder, listed through the daemon with a delimiter."""

from __future__ import annotations

import asyncio

from s3d.store.store import Store
from tests.conftest import client_for
from tests.support.server import S3dProcess
from tests.support.store import put_bytes

FOLDER = [f"a/{i:06d}" for i in range(20_000)]
OTHERS = ["a", "a-1", "a.txt", "b/x", "b/y/z", "c"]


async def _populate(store: Store, owner: str) -> None:
    await store.create_bucket("big", owner, "us-east-1")
    keys = FOLDER + OTHERS
    for i in range(0, len(keys), 2000):
        await asyncio.gather(*(put_bytes(store, "big", k.encode(), k.encode()) for k in keys[i : i + 2000]))


def test_delimiter_listing_rolls_a_huge_folder_into_one_prefix(fresh_server: S3dProcess) -> None:
    # 20,000 PUTs over HTTP would take most of a minute: write them with the store while the daemon is down
    fresh_server.stop()
    store = Store(fresh_server.data)
    try:
        asyncio.run(_populate(store, owner=fresh_server.access_key))  # env users are named by key
    finally:
        store.close()
    fresh_server.start()
    s3 = client_for(fresh_server.endpoint, fresh_server.access_key, fresh_server.secret_key)

    v2 = s3.list_objects_v2(Bucket="big", Delimiter="/")
    assert [o["Key"] for o in v2["Contents"]] == ["a", "a-1", "a.txt", "c"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["a/", "b/"]
    assert v2["IsTruncated"] is False and v2["KeyCount"] == 6

    v1 = s3.list_objects(Bucket="big", Delimiter="/", MaxKeys=4)
    assert [o["Key"] for o in v1["Contents"]] == ["a", "a-1", "a.txt"]
    assert [p["Prefix"] for p in v1["CommonPrefixes"]] == ["a/"]
    assert v1["IsTruncated"] is True and v1["NextMarker"] == "a/"
    rest = s3.list_objects(Bucket="big", Delimiter="/", Marker=v1["NextMarker"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["b/"]
    assert [o["Key"] for o in rest["Contents"]] == ["c"]

    inside = s3.list_objects_v2(Bucket="big", Prefix="a/", Delimiter="/", StartAfter="a/019990")
    assert [o["Key"] for o in inside["Contents"]] == FOLDER[19_991:]
    assert s3.get_object(Bucket="big", Key="a/012345")["Body"].read() == b"a/012345"
