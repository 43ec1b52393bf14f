"""GET /_s3d/mounts: the daemon's [[mount]] entries and whether each is mounted, scoped like the other admin
endpoints (an admin sees every mount, another user those of its own buckets)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import client_for
from tests.support.admin import admin
from tests.support.mounts import require_fuse
from tests.support.server import S3dProcess

DEADLINE = 30.0
ALICE = ("ALICEACCESSKEY", "alice-secret-key-0123456789")


def test_mounts_show_their_state_to_the_owner_and_admins_only(tmp_path: Path) -> None:
    require_fuse()
    data, mnt = tmp_path / "data", tmp_path / "mnt"
    mnt.mkdir()
    first = S3dProcess(data, workers=1).start()
    client_for(first.endpoint, first.access_key, first.secret_key).create_bucket(Bucket="shared")
    first.stop()
    config = tmp_path / "s3d.toml"
    config.write_text(
        f'[[users]]\naccess_key = "{ALICE[0]}"\nsecret_key = "{ALICE[1]}"\nname = "alice"\n\n'
        f'[[mount]]\nsource = "shared/docs"\nmountpoint = "{mnt}"\nread_only = true\n'
    )
    daemon = S3dProcess(data, port=first.port, workers=1, args=["--config", str(config)]).start()
    try:
        deadline = time.monotonic() + DEADLINE
        while not os.path.ismount(mnt):
            assert time.monotonic() < deadline, "the daemon's mount did not appear"
            time.sleep(0.05)
        code, body = admin(daemon.endpoint, daemon.access_key, daemon.secret_key, "GET", "/_s3d/mounts")
        assert code == 200
        assert body == {
            "mounts": [
                {"source": "shared/docs/", "mountpoint": str(mnt), "read_only": True, "filter": None, "mounted": True}
            ],
            "configured": 1,
        }
        code, body = admin(daemon.endpoint, ALICE[0], ALICE[1], "GET", "/_s3d/mounts")
        assert (code, body) == (200, {"mounts": [], "configured": 1})
    finally:
        daemon.stop()
