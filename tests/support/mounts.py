"""`s3d mount` as the user runs it: a detached mount process of a real daemon, unmounted with `s3d umount`."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.server import S3dProcess

FUSE_DEVICE = Path("/dev/fuse")
COMMAND_TIMEOUT = 60


def require_fuse() -> None:
    """Skip, in one line, where the machine cannot mount FUSE filesystems."""
    if not FUSE_DEVICE.exists():
        pytest.skip("no /dev/fuse: FUSE mounts cannot run here")
    if shutil.which("fusermount3") is None:
        pytest.skip("no fusermount3: install fuse3")


def s3d(
    *args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s3d", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@dataclass
class Mount:
    server: S3dProcess
    source: str
    path: Path
    flags: list[str] = field(default_factory=list)
    access_key: str | None = None
    secret_key: str | None = None
    log_level: str | None = None  # S3D_LOG_LEVEL of the mount process (its log: `log`)

    @property
    def log(self) -> Path:
        return self.path.parent / f"{self.path.name}.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("S3D_", "AWS_"))}
        env["S3D_ACCESS_KEY"] = self.access_key or self.server.access_key
        env["S3D_SECRET_KEY"] = self.secret_key or self.server.secret_key
        if self.log_level is not None:
            env["S3D_LOG_LEVEL"] = self.log_level
        return env

    def start(self) -> Mount:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            r = subprocess.run(
                [sys.executable, "-m", "s3d", "mount", self.source, str(self.path), "--daemon",
                 "--endpoint", self.server.endpoint, *self.flags],
                stdout=subprocess.DEVNULL, stderr=log, env=self.env(), timeout=COMMAND_TIMEOUT,
            )  # fmt: skip
        assert r.returncode == 0, self.log.read_text()
        assert os.path.ismount(self.path)
        return self

    def pid(self) -> int:
        """The mount process (the one serving this mount point)."""
        out = subprocess.run(["pgrep", "-f", f"s3d mount {self.source} {self.path}"], capture_output=True, text=True)
        pids = [int(p) for p in out.stdout.split()]
        assert len(pids) == 1, out.stdout
        return pids[0]

    def stop(self) -> None:
        if os.path.ismount(self.path) or _stale(self.path):
            r = s3d("umount", str(self.path))
            assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 10
        while _serving(self.path) and time.monotonic() < deadline:
            time.sleep(0.05)


def _stale(path: Path) -> bool:
    """A mount whose process died: the kernel still has it, and every call fails with ENOTCONN."""
    try:
        os.stat(path)
    except OSError as e:
        return e.errno == errno.ENOTCONN
    return False


def _serving(path: Path) -> bool:
    out = subprocess.run(["pgrep", "-f", f" {path} --daemon"], capture_output=True, text=True)
    return bool(out.stdout.strip())
