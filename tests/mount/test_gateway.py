"""The mount in front of a gateway: a small read of a remote-only object goes through the block cache."""

from __future__ import annotations

import os
from pathlib import Path

from tests.gateway.test_cache import BLOCK, CacheSetup, cache  # noqa: F401 - the fixture, for this module
from tests.support.mounts import Mount, require_fuse

MiB = 1024 * 1024
OFFSET = 40 * MiB + 12345


def test_a_4k_read_of_a_remote_only_object_fetches_one_block(cache: CacheSetup, tmp_path: Path) -> None:  # noqa: F811
    require_fuse()
    s3 = cache.gw.client()
    s3.create_bucket(Bucket="far")
    cache.gw.flush()
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for i in range(64):
            f.write(bytes([i]) * MiB)
    cache.gw.remote.client().upload_file(str(big), "far", "big.bin")
    m = Mount(cache.gw.s3d, "far", tmp_path / "mnt").start()
    try:
        cache.proxy.reset()
        fd = os.open(m.path / "big.bin", os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
            assert os.pread(fd, 4096, OFFSET) == bytes([OFFSET // MiB]) * 4096
        finally:
            os.close(fd)
    finally:
        m.stop()
    assert cache.proxy.bytes_down <= BLOCK + 64 * 1024  # one cache block (and a HEAD), not the 64 MiB object
