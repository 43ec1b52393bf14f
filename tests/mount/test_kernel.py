"""Finding the mount's device in /proc/self/mountinfo, to raise the kernel's read-ahead on it."""

from __future__ import annotations

from pathlib import Path

from s3d.mount.kernel import device_of

MOUNTINFO = (
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "40 22 0:40 / /mnt/with\\040space rw,nosuid,nodev,relatime shared:2 - fuse.s3d s3d:b rw,user_id=0\n"
    "41 22 0:41 / /mnt/photos rw,nosuid,nodev,relatime shared:3 - fuse.s3d s3d:photos rw,user_id=0\n"
    "42 41 0:42 / /mnt/photos rw,nosuid,nodev,relatime shared:4 - fuse.s3d s3d:photos rw,user_id=0\n"
)


def test_the_device_of_a_mount_point_with_a_space() -> None:
    assert device_of(Path("/mnt/with space"), MOUNTINFO) == "0:40"


def test_the_last_mount_on_a_mount_point_is_the_one_seen() -> None:
    assert device_of(Path("/mnt/photos"), MOUNTINFO) == "0:42"


def test_a_path_that_is_not_mounted_has_no_device() -> None:
    assert device_of(Path("/mnt/other"), MOUNTINFO) is None
