"""Start a real s3d daemon as a subprocess on a free loopback port, for tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from s3d.observe.setup import shared_metrics_path

ACCESS_KEY = "S3DTESTACCESSKEY"
SECRET_KEY = "s3d-test-secret-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered at {url}")


@dataclass
class S3dProcess:
    data: Path
    port: int = 0
    workers: int = 1
    env_extra: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3dProcess:
        if not self.port:
            self.port = free_port()
        env = dict(os.environ)
        env.update({"S3D_ACCESS_KEY": self.access_key, "S3D_SECRET_KEY": self.secret_key})
        env.update(self.env_extra)
        log = open(self.data.parent / f"s3d-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "s3d", "run", "--data", str(self.data), "--listen", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), *self.args],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_http(self.endpoint + "/_s3d/health", proc=self.proc)
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        shutil.rmtree(shared_metrics_path(self.data), ignore_errors=True)  # a killed daemon leaves it in memory

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill9()
            return -9
