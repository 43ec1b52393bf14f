"""Run the `s3d` command line as a subprocess (`python -m s3d ...`) against real daemons."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.gateway.conftest import Gateway, rclone_gateway  # noqa: F401 - the fixture, for tests/cli
from tests.support.server import S3dProcess

ESC = b"\x1b"


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: bytes

    def __repr__(self) -> str:
        return f"Result(code={self.code}, stdout={self.stdout[:300]!r}, stderr={self.stderr[:2000]!r})"

    @property
    def out(self) -> str:
        return self.stdout.decode()

    @property
    def err(self) -> str:
        return self.stderr.decode()


def clean_env() -> dict[str, str]:
    """The environment without any S3D_* or AWS_* setting of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3D_", "AWS_"))}
    env.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "TERM": "xterm-256color"})
    return env


@dataclass
class Cli:
    """`s3d` as a user runs it: a subprocess with piped output, in its own working directory."""

    cwd: Path
    env: dict[str, str] = field(default_factory=clean_env)

    def __call__(
        self,
        *args: str,
        input: bytes | None = None,
        timeout: float = 120,
        env: dict[str, str] | None = None,
        data_out: bool = False,
    ) -> Result:
        """Run it; `data_out` when stdout carries an object's bytes (which may contain ESC themselves)."""
        r = subprocess.run(
            [sys.executable, "-m", "s3d", *args], input=input, capture_output=True, cwd=self.cwd,
            env={**self.env, **(env or {})}, timeout=timeout,
        )  # fmt: skip
        result = Result(r.returncode, r.stdout, r.stderr)
        assert data_out or ESC not in r.stdout, f"escape codes in piped output: {result}"
        assert ESC not in r.stderr, f"escape codes in piped output: {result}"
        assert b"Traceback" not in r.stderr, result.err
        return result

    def ok(self, *args: str, input: bytes | None = None, timeout: float = 120, data_out: bool = False) -> Result:
        r = self(*args, input=input, timeout=timeout, data_out=data_out)
        assert r.code == 0, f"s3d {' '.join(args)} exited {r.code}: {r.err}"
        assert r.stderr == b"", r.err
        return r


def cli_for(d: S3dProcess, cwd: Path, **extra: str) -> Cli:
    c = Cli(cwd)
    c.env.update({"S3D_ENDPOINT": d.endpoint, "S3D_ACCESS_KEY": d.access_key, "S3D_SECRET_KEY": d.secret_key, **extra})
    return c


@pytest.fixture
def cli(server: S3dProcess, tmp_path: Path) -> Cli:
    """s3d against the session's daemon, found through S3D_ENDPOINT/S3D_ACCESS_KEY/S3D_SECRET_KEY."""
    work = tmp_path / "cwd"
    work.mkdir()
    return cli_for(server, work)


@pytest.fixture
def gateway_cli(rclone_gateway: Gateway, tmp_path: Path) -> Iterator[tuple[Cli, Gateway]]:  # noqa: F811
    """s3d against a gateway in front of `rclone serve s3`; the AWS chain finds the remote's keys."""
    work = tmp_path / "cwd"
    work.mkdir()
    yield cli_for(rclone_gateway.s3d, work, **rclone_gateway.remote.env()), rclone_gateway
